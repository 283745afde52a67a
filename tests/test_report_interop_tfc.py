"""report.interop_tfc (``make interop-tfc``) on 8 images: TFC_1W1A imported, checked against
qonnx's executor, run in RTL bit-exactly, whose predictions and (mapped) outputs equal
the executor's; the report's fields."""

import json

import pytest

pytest.importorskip("qonnx")

from interop_fixtures import tfc  # noqa: E402
from report import interop_tfc  # noqa: E402


def test_interop_tfc_on_a_few_images(tmp_path, capsys):
    from sw.data import DataError, load_dataset
    try:
        load_dataset("fmnist")
    except DataError:
        pytest.skip("Fashion-MNIST is not installed")
    assert interop_tfc.main(["--onnx", str(tfc("TFC_1W1A")), "--images", "8", "--jobs", "1",
                             "--reuse", "2", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == report
    assert report["agree"] and report["images"] == 8 and report["input_threshold"] == 128
    assert report["executor_vs_golden"]["hidden_bit_mismatches"] == [0, 0, 0]
    assert report["rtl"]["bit_exact"] == 8 and report["rtl"]["mismatches"] == 0
    assert report["rtl_vs_executor"]["predictions_equal"] == 8 and report["rtl_vs_executor"]["outputs_equal"] == 8
