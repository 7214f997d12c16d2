"""In-tree PEP 517 build backend for brixlet_kv, standard library only.

brixlet_kv has no dependencies, so its build should have none either: with `requires = []` pip builds
it offline, in isolation, with no setuptools or wheel to fetch (a GPU node often has neither). The
wheel holds the pure-Python package plus the dist-info metadata PEP 427 asks for; the sdist holds the
project directory.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = 'brixlet_kv'
DIST = 'brixlet_kv'
VERSION = '0.1.0'
TAG = 'py3-none-any'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

METADATA = f"""Metadata-Version: 2.1
Name: brixlet-kv
Version: {VERSION}
Summary: Stdlib-only Python client for the brixlet node KV cache shard (engine side)
License: Apache-2.0
Requires-Python: >=3.10
Classifier: License :: OSI Approved :: Apache Software License
Classifier: Operating System :: POSIX :: Linux
"""

WHEEL = f"""Wheel-Version: 1.0
Generator: brixlet_kv_build {VERSION}
Root-Is-Purelib: true
Tag: {TAG}
"""


def _package_files():
    """Every .py file of the package and its subpackages (brixlet_kv/vllm), in a stable order."""
    src = os.path.join(ROOT, NAME)
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        rel_dir = os.path.relpath(dirpath, ROOT).replace(os.sep, '/')
        for name in sorted(filenames):
            if name.endswith('.py'):
                yield f'{rel_dir}/{name}', os.path.join(dirpath, name)


def _digest(data):
    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()


class _Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED)
        self.record = []

    def add(self, arcname, data):
        self.zip.writestr(zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0)), data)
        self.record.append(f'{arcname},{_digest(data)},{len(data)}')

    def close(self, dist_info):
        record = f'{dist_info}/RECORD'
        self.record.append(f'{record},,')
        self.zip.writestr(zipfile.ZipInfo(record, date_time=(2026, 1, 1, 0, 0, 0)), '\n'.join(self.record) + '\n')
        self.zip.close()


def _dist_info_files():
    license_path = os.path.join(ROOT, '..', '..', 'LICENSE')
    files = {'METADATA': METADATA.encode(), 'WHEEL': WHEEL.encode(), 'top_level.txt': f'{NAME}\n'.encode()}
    if os.path.exists(license_path):
        with open(license_path, 'rb') as f:
            files['LICENSE'] = f.read()
    return files


def _build(wheel_directory, editable):
    dist_info = f'{DIST}-{VERSION}.dist-info'
    filename = f'{DIST}-{VERSION}-{TAG}.whl'
    wheel = _Wheel(os.path.join(wheel_directory, filename))
    if editable:
        # PEP 660: a .pth line puts the source directory on sys.path.
        wheel.add(f'{DIST}.pth', (ROOT + '\n').encode())
    else:
        for arcname, path in _package_files():
            with open(path, 'rb') as f:
                wheel.add(arcname, f.read())
    for name, data in _dist_info_files().items():
        wheel.add(f'{dist_info}/{name}', data)
    wheel.close(dist_info)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    base = f'{DIST}-{VERSION}'
    filename = f'{base}.tar.gz'
    with tarfile.open(os.path.join(sdist_directory, filename), 'w:gz', format=tarfile.PAX_FORMAT) as tar:
        for rel in ['pyproject.toml', 'README.md', '_build/brixlet_kv_build.py'] + [a for a, _ in _package_files()]:
            tar.add(os.path.join(ROOT, rel), arcname=f'{base}/{rel}')
        pkg_info = METADATA.encode()
        info = tarfile.TarInfo(f'{base}/PKG-INFO')
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    return filename
