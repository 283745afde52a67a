"""Synthesis and the cost model: what the generated RTL costs on an FPGA.

A consumer of :mod:`hw` (it synthesises the generators' blocks with yosys) and
:mod:`sw` (model files, training reports); :mod:`report` consumes it in turn.

* :mod:`cost.netlist` -- yosys statistics as :class:`~cost.netlist.Resources`, logic depth;
* :mod:`cost.yosys` -- the yosys runner and its cache;
* :mod:`cost.nextpnr` -- place and route on a Lattice ECP5 (a measured clock) and its cache;
* :mod:`cost.blocks` -- the catalogue of blocks synthesised for a model;
* :mod:`cost.fit` -- engine LUTs against R: the cost of one MAC per cycle;
* :mod:`cost.summary` -- the synthesis summary (``summary.json``) as dataclasses;
* :mod:`cost.gamma` -- the share of nonzero weights, computed here only;
* :mod:`cost.throughput` -- the paper's devices, constants and effective-throughput model;
* :mod:`cost.measured` -- the model's constants from a synthesis summary;
* :mod:`cost.markdown`, :mod:`cost.plots` -- the README tables and Fig. 7 plots;
* :mod:`cost.synth`, :mod:`cost.roofline` -- the command lines.
"""
