package sbom

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one line of a package database. dpkg descriptions and
// apk fields are far shorter; a longer line means the file is not what its
// path says.
const maxLine = 1 << 20

// readStanzas calls fn with each stanza of r: groups of lines separated by
// blank lines. split tells a field line's key and value; a line for which
// it returns ok=false is a continuation and is ignored. Only the keys in
// keep are collected, so memory is bounded by what the caller keeps.
func readStanzas(r io.Reader, split func(line string) (key, value string, ok bool), keep map[string]bool, fn func(map[string]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	cur := map[string]string{}
	line := 0
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		err := fn(cur)
		cur = map[string]string{}
		return err
	}
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		k, v, ok := split(text)
		if !ok || !keep[k] {
			continue
		}
		cur[k] = v
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return fmt.Errorf("line %d is longer than %d bytes", line+1, maxLine)
		}
		return err
	}
	return flush()
}

// deb822Field splits "Key: value" (RFC 822 style as dpkg writes it); lines
// starting with a space or tab continue the previous field.
func deb822Field(line string) (string, string, bool) {
	if line[0] == ' ' || line[0] == '\t' {
		return "", "", false
	}
	k, v, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v), true
}

// apkField splits "K:value", the format of lib/apk/db/installed.
func apkField(line string) (string, string, bool) {
	if len(line) < 2 || line[1] != ':' {
		return "", "", false
	}
	return line[:1], strings.TrimSpace(line[2:]), true
}
