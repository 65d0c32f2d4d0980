package awsauth

import (
	"strings"
	"sync"
)

// secretSet remembers the secrets Load met, masks each as it arrives and
// removes them from error text.
type secretSet struct {
	mask func(string)

	mu     sync.Mutex
	values []string
}

func (s *secretSet) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, have := range s.values {
		if have == v {
			return
		}
	}
	s.values = append(s.values, v)
	s.mask(v)
}

// redact returns err with every known secret replaced by "***" in its text.
// errors.As and errors.Is still see the original chain.
func (s *secretSet) redact(err error) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := err.Error()
	for _, v := range s.values {
		msg = strings.ReplaceAll(msg, v, "***")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
