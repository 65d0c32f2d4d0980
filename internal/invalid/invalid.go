// Package invalid is the error for an action input that cannot be used,
// shared by the packages that check inputs: config (every input, before
// anything runs) and awsauth (the AWS settings, where they are used). It
// uses only the standard library.
package invalid

import (
	"fmt"
	"strconv"
)

// Input is one invalid input.
type Input struct {
	Input   string // the input's name, e.g. "image_tag_mutability"
	Value   string // the value given, as Quote shows it; "" when missing
	Problem string // what is wrong and what is accepted
}

func (e Input) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("input %s: %s", e.Input, e.Problem)
	}
	return fmt.Sprintf("input %s: %s (got %s)", e.Input, e.Problem, e.Value)
}

// maxShown bounds how much of a bad value an error message repeats.
const maxShown = 80

// Quote quotes a value for an error message, shortened and with control
// characters escaped so it cannot start a new log line.
func Quote(v string) string {
	if len(v) > maxShown {
		v = v[:maxShown] + "…"
	}
	return strconv.Quote(v)
}
