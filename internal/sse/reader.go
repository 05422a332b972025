// Package sse reads a Server-Sent Events stream as the tests and the load
// tool consume GET /stream/{product_id}: message by message, with the
// fields the stream uses (id, event, data; comments and retry skipped).
package sse

import (
	"bufio"
	"io"
	"strings"
)

// Message is one dispatched SSE message.
type Message struct {
	ID    string
	Event string // "" for a plain message ("message")
	Data  string // data lines joined by "\n"
}

// Reader reads messages from a stream body.
type Reader struct {
	sc *bufio.Scanner
}

// maxLine bounds one line (a payload's JSON).
const maxLine = 4 << 20

// NewReader reads r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Reader{sc: sc}
}

// Next returns the next message, or the read error (io.EOF when the
// stream ended cleanly).
func (r *Reader) Next() (Message, error) {
	var m Message
	var data []string
	seen := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if seen {
				m.Data = strings.Join(data, "\n")
				return m, nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.ID, seen = value, true
		case "event":
			m.Event, seen = value, true
		case "data":
			data, seen = append(data, value), true
		}
	}
	if err := r.sc.Err(); err != nil {
		return Message{}, err
	}
	return Message{}, io.EOF
}
