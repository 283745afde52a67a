"""Reports: the benchmark, the methods comparison, tables, plots and README generation.

The last stage of the project's one-way flow (sw -> hw -> sim -> cost -> report): it
may import every other package, and none imports it.

* :mod:`report.bench` -- ``make bench`` (``python -m report.bench``);
* :mod:`report.methods` -- ``make methods`` (``python -m report.methods``);
* :mod:`report.readme` -- README.md's generated blocks (``python -m report.readme``);
* :mod:`report.training_tables` -- tables of training reports;
* :mod:`report.models`, :mod:`report.simulate`, :mod:`report.provenance`,
  :mod:`report.bench_markdown`, :mod:`report.bench_plots`, :mod:`report.methods_table`:
  their parts.
"""
