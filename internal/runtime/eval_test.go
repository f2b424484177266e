package runtime

import (
	"context"
	"testing"
)

// The offline path gets every labelled incident right.
func TestEvalCasesOffline(t *testing.T) {
	for _, c := range EvalCases() {
		res, err := c.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pass || res.Invented != 0 {
			t.Errorf("%s: %v (invented %d)", c.Name, res.Problems, res.Invented)
		}
	}
}
