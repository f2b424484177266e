// Package udiff computes line diffs (Myers' O(ND) algorithm) and renders
// them as unified diffs, for the patches sextant proposes to Dockerfiles and
// Kubernetes manifests.
package udiff

import (
	"fmt"
	"strconv"
	"strings"
)

// Lines splits text into lines that keep their terminators ("\n" or
// "\r\n"); a last line without one is kept as it is.
func Lines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// Unified renders the differences between two files' lines, each with its
// terminator (see Lines), as a unified diff with three lines of context
// headed "--- from" and "+++ to", as patch(1) and git apply read it; "" when
// the files are equal. A last line without a terminator gets diff's
// "\ No newline at end of file" marker.
func Unified(from, to string, a, b []string) string {
	ops := diffLines(a, b)
	changed := false
	for _, op := range ops {
		changed = changed || op.kind != ' '
	}
	if !changed {
		return ""
	}
	const ctx = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)
	// Group the edit script into hunks.
	i := 0
	for i < len(ops) {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i >= len(ops) {
			break
		}
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		h := ops[start:end]
		aStart, bStart := h[0].a, h[0].b
		aN, bN := 0, 0
		for _, op := range h {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aN), hunkRange(bStart, bN))
		for _, op := range h {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			if !strings.HasSuffix(op.line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// diffOp is one line of an edit script: ' ' keep, '-' delete, '+' insert;
// a and b are the 0-based positions in the old and new file before it.
type diffOp struct {
	kind byte
	line string
	a, b int
}

// diffLines computes a shortest edit script with Myers' algorithm, after
// setting aside the common head and tail; the trace keeps only the live
// diagonals of each step, so memory grows with the square of the number of
// changed lines, not with the file.
func diffLines(a, b []string) []diffOp {
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	var out []diffOp
	for i := 0; i < head; i++ {
		out = append(out, diffOp{kind: ' ', line: a[i], a: i, b: i})
	}
	for _, op := range myers(a[head:len(a)-tail], b[head:len(b)-tail]) {
		op.a += head
		op.b += head
		out = append(out, op)
	}
	for i := tail; i > 0; i-- {
		x, y := len(a)-i, len(b)-i
		out = append(out, diffOp{kind: ' ', line: a[x], a: x, b: y})
	}
	return out
}

func myers(a, b []string) []diffOp {
	n, m := len(a), len(b)
	maxD := n + m
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] holds v[off-d-1 : off+d+2] as it was before step d.
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		done := false
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				done = true
				break
			}
		}
		if done {
			break
		}
	}
	var rev []diffOp
	x, y := n, m
	for d := len(trace) - 1; d > 0; d-- {
		w := trace[d]
		at := func(k int) int { return w[k+d+1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, diffOp{kind: ' ', line: a[x], a: x, b: y})
		}
		if x == px {
			y--
			rev = append(rev, diffOp{kind: '+', line: b[y], a: x, b: y})
		} else {
			x--
			rev = append(rev, diffOp{kind: '-', line: a[x], a: x, b: y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, diffOp{kind: ' ', line: a[x], a: x, b: y})
	}
	out := make([]diffOp, len(rev))
	for i := range rev {
		out[i] = rev[len(rev)-1-i]
	}
	return out
}
