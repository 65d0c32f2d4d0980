package ecrlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// prettyPolicy re-indents a JSON document the way ECR returns repository
// policies (GetRepositoryPolicy examples in the ECR API Reference): two-space
// indentation per object level, `"key" : value`, arrays on one line as
// `[ a, b ]`, and an object inside an array opened on the array's line
// (`[ {`). Key order and values are kept as given.
func prettyPolicy(doc string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var b strings.Builder
	if err := writePretty(&b, dec, 0); err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("trailing data after the JSON document")
	}
	return b.String(), nil
}

func writePretty(b *strings.Builder, dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			if !dec.More() {
				b.WriteString("{ }")
				_, err := dec.Token()
				return err
			}
			b.WriteString("{")
			for first := true; dec.More(); first = false {
				if !first {
					b.WriteString(",")
				}
				b.WriteString("\n" + strings.Repeat("  ", depth+1))
				key, err := dec.Token()
				if err != nil {
					return err
				}
				writeJSONString(b, key.(string))
				b.WriteString(" : ")
				if err := writePretty(b, dec, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			b.WriteString("\n" + strings.Repeat("  ", depth) + "}")
		case '[':
			if !dec.More() {
				b.WriteString("[ ]")
				_, err := dec.Token()
				return err
			}
			b.WriteString("[ ")
			for first := true; dec.More(); first = false {
				if !first {
					b.WriteString(", ")
				}
				if err := writePretty(b, dec, depth); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			b.WriteString(" ]")
		}
	case string:
		writeJSONString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		fmt.Fprint(b, t)
	case nil:
		b.WriteString("null")
	}
	return nil
}

// writeJSONString quotes s without Go's HTML escaping.
func writeJSONString(b *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
