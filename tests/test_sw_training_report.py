"""sw.training_report: the acceptance checks evaluated on a run's report."""

from sw.training_report import checks


def test_checks_follow_the_report():
    report = {"final": {"zero_fraction": 0.95, "minus_dense_binary": 0.01},
              "export": {"hidden_bits_equal": True, "prediction_agreement": 1.0}}
    assert checks(report, 600.0) == {"zeros_at_least_90_percent": True, "not_below_dense_binary": True,
                                     "trained_within_20_minutes": True, "golden_bit_exact": True}
    report = {"final": {"zero_fraction": 0.5}, "export": {"path": None, "reason": "convolutions"}}
    assert checks(report, 1201.0) == {"zeros_at_least_90_percent": False, "trained_within_20_minutes": False}
    report = {"final": {"zero_fraction": 0.9, "minus_dense_binary": -0.001},
              "export": {"hidden_bits_equal": True, "prediction_agreement": 0.999}}
    assert checks(report, 1.0) == {"zeros_at_least_90_percent": True, "not_below_dense_binary": False,
                                   "trained_within_20_minutes": True, "golden_bit_exact": False}


def test_cnn_checks_use_the_issue_16_targets():
    report = {"config": {"arch": "cnn"}, "final": {"zero_fraction": 0.85, "minus_dense_binary": 0.001},
              "export": {"hidden_bits_equal": True, "prediction_agreement": 1.0}}
    assert checks(report, 1700.0) == {"zeros_at_least_80_percent": True, "not_below_dense_binary": True,
                                      "trained_within_30_minutes": True, "golden_bit_exact": True}
