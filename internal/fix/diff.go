package fix

import "github.com/sextant-dev/sextant/internal/udiff"

// unifiedDiff returns the unified diff from a to b, whose elements are lines
// with their terminators; "" when they are equal.
func unifiedDiff(name string, a, b []string) string {
	return udiff.Unified("a/"+name, "b/"+name, a, b)
}
