package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/sextant-dev/sextant"
)

// EncodeAction returns the JSON kept in an actions.data column: the Action
// as its JSON says it.
func EncodeAction(a sextant.Action) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("set actions: encode action %s: %v", a.ID, err)
	}
	return string(b), nil
}

// DecodeAction reads an action from the JSON made by EncodeAction.
func DecodeAction(id string, data []byte) (sextant.Action, error) {
	var a sextant.Action
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("action %s: decode stored action: %v", id, err)
	}
	return a, nil
}

// SameJSON reports whether a and b hold the same JSON value: equal after
// decoding, whatever their key order, spacing or number spelling, so that a
// plan read back from a jsonb column compares equal to the JSON it was
// written from. Text that is not JSON is equal only byte for byte.
func SameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
