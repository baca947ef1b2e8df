"""The optimizer names (hybridqnn.optim.names) and the package's lazy names."""

from __future__ import annotations

import subprocess
import sys

import hybridqnn.optim as optim
from hybridqnn.optim import names


def test_the_package_exports_the_names_module_tables() -> None:
    assert optim.OPTIMIZER_NAMES is names.OPTIMIZER_NAMES
    assert optim.QPSBGD_VARIANTS is names.QPSBGD_VARIANTS
    assert optim.FULL_PRECISION_NAMES is names.FULL_PRECISION_NAMES
    assert set(names.QPSBGD_VARIANTS) | set(names.FULL_PRECISION_NAMES) < set(names.OPTIMIZER_NAMES)
    assert len(set(names.OPTIMIZER_NAMES)) == len(names.OPTIMIZER_NAMES)


def test_names_load_no_torch() -> None:
    code = (
        "import sys\n"
        "from hybridqnn.optim import OPTIMIZER_NAMES, QPSBGD_VARIANTS\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
