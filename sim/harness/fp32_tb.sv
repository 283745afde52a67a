// Stand-alone Verilator testbench for the fp32_add and fp32_mul tops; driven by sim/fp32_check.py.
//
// Both tops are instantiated (one build serves both) and see the same inputs; +op picks the
// one that is checked. Streams operand pairs from a text file (one "aaaaaaaa bbbbbbbb\n" hex line per pair) into
// the DUT, one pair per cycle except on pseudo-random bubble cycles (in_valid low, garbage on
// a and b), and writes every result qualified by out_valid to a second file, one "rrrrrrrr\n"
// line each, in order. Every cycle it also checks that out_valid equals in_valid delayed by
// the expected latency. No per-cycle foreign code: the whole run is one Verilator process.
//
// Plusargs:  +op=add|mul +ops=FILE +results=FILE +n=PAIRS +latency=CYCLES (of that op's top)
//            [+bubble_shift=S]  a bubble on ~1/2**S of the cycles; 0 (default) = none
// Last line printed: "fp32_tb: n=.. sent=.. received=.. valid_errors=.. cycles=..".

module fp32_tb;
  logic        clk = 1'b0;
  logic        rst = 1'b1;
  logic [31:0] a = '0;
  logic [31:0] b = '0;
  logic        in_valid = 1'b0;
  logic [31:0] add_result, mul_result;
  logic        add_valid, mul_valid;
  bit          is_mul;

  fp32_add u_add (.clk, .rst, .a, .b, .in_valid, .result(add_result), .out_valid(add_valid));
  fp32_mul u_mul (.clk, .rst, .a, .b, .in_valid, .result(mul_result), .out_valid(mul_valid));

  wire [31:0] result    = is_mul ? mul_result : add_result;
  wire        out_valid = is_mul ? mul_valid : add_valid;

  always #1 clk = ~clk;

  string       op, ops_path, results_path;
  int          ops_fd, results_fd;
  int          n, latency, bubble_shift;
  int          sent = 0, received = 0, valid_errors = 0;
  longint      cycle = 0;
  logic [63:0] history = '0;            // in_valid of past cycles, bit 0 = one cycle ago
  logic [31:0] lfsr = 32'h2545_f491;    // xorshift32 state: bubbles and garbage operands

  function automatic logic [31:0] xorshift32(logic [31:0] x);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  endfunction

  initial begin
    if (!$value$plusargs("op=%s", op) || !(op == "add" || op == "mul") ||
        !$value$plusargs("ops=%s", ops_path) || !$value$plusargs("results=%s", results_path) ||
        !$value$plusargs("n=%d", n) || !$value$plusargs("latency=%d", latency))
      $fatal(1, "usage: +op=add|mul +ops=FILE +results=FILE +n=PAIRS +latency=CYCLES [+bubble_shift=S]");
    is_mul = op == "mul";
    if (!$value$plusargs("bubble_shift=%d", bubble_shift)) bubble_shift = 0;
    if (n < 1 || latency < 1 || latency > 63 || bubble_shift < 0 || bubble_shift > 31)
      $fatal(1, "bad plusargs: n=%0d latency=%0d bubble_shift=%0d", n, latency, bubble_shift);
    ops_fd = $fopen(ops_path, "r");
    if (ops_fd == 0) $fatal(1, "cannot open %s", ops_path);
    results_fd = $fopen(results_path, "w");
    if (results_fd == 0) $fatal(1, "cannot open %s", results_path);
  end

  // Driver: new inputs right after each rising edge (non-blocking, so the DUT and the
  // monitor below sample the values of the cycle that just ended).
  always @(posedge clk) begin
    logic [31:0] next_a, next_b;
    logic        bubble;
    lfsr = xorshift32(lfsr);
    bubble = bubble_shift != 0 && (lfsr & ((32'd1 << bubble_shift) - 1)) == 0;
    cycle <= cycle + 1;
    if (cycle == 3) rst <= 1'b0;
    if (rst || sent == n || bubble) begin
      in_valid <= 1'b0;
      a <= lfsr;
      b <= ~lfsr;
    end else begin
      if ($fscanf(ops_fd, "%h %h\n", next_a, next_b) != 2)
        $fatal(1, "%s: cannot read operand pair %0d", ops_path, sent);
      in_valid <= 1'b1;
      a <= next_a;
      b <= next_b;
      sent <= sent + 1;
    end
    if (cycle > 64'd4 * n + 1000) $fatal(1, "timeout: %0d of %0d results after %0d cycles",
                                          received, n, cycle);
  end

  // Monitor: out_valid must be in_valid delayed by `latency`; log every valid result.
  always @(posedge clk) begin
    if (out_valid !== history[latency - 1]) valid_errors++;
    history <= {history[62:0], in_valid};
    if (out_valid === 1'b1) begin
      $fwrite(results_fd, "%h\n", result);
      received++;
      if (received == n) begin
        $fclose(results_fd);
        $display("fp32_tb: n=%0d sent=%0d received=%0d valid_errors=%0d cycles=%0d",
                 n, sent, received, valid_errors, cycle);
        $finish;
      end
    end
  end
endmodule
