"""Stand-in for get-pip.py used by ansible-test when there is no Python index.

ansible-test runs this file as `python get_pip.py <options> pip==X [packages]`. We bootstrap
pip from the interpreter's bundled wheel (ensurepip) and install any further packages from
the find-links configured in pip.conf. get-pip's own options are dropped.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY and not arg.startswith("pip==")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
if any(not arg.startswith("-") for arg in args):
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
