package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DoneData is the payload of the last event of an OpenAI stream.
const DoneData = "[DONE]"

// WriteEvent writes v as one server-sent event ("data: <json>\n\n") and
// flushes w when it can.
func WriteEvent(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeData(w, b)
}

// WriteDone writes the terminating "data: [DONE]" event.
func WriteDone(w io.Writer) error { return writeData(w, []byte(DoneData)) }

func writeData(w io.Writer, b []byte) error {
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// Event is one server-sent event.
type Event struct {
	// Name is the "event:" field; llama.cpp reports stream errors with a
	// non-standard "error: <json>" line, read as Name "error".
	Name string
	Data []byte
}

// Done reports whether this is the terminating [DONE] event.
func (e Event) Done() bool { return string(e.Data) == DoneData }

// ErrEventTooLarge is returned when an event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("server-sent event too large")

// EventReader reads server-sent events.
type EventReader struct {
	r   *bufio.Reader
	max int
}

// NewEventReader reads events of at most maxEvent bytes from r.
func NewEventReader(r io.Reader, maxEvent int) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 4096), max: maxEvent}
}

// Next returns the next event that has data, or io.EOF at the end of the
// stream. An event cut off by the end of the stream is still returned.
func (er *EventReader) Next() (Event, error) {
	var ev Event
	have := false
	for {
		line, err := er.readLine()
		if err != nil && err != io.EOF {
			return Event{}, err
		}
		eof := err == io.EOF
		if len(line) == 0 {
			switch {
			case have:
				return ev, nil
			case eof:
				return Event{}, io.EOF
			}
			ev = Event{} // an event without data is ignored
			continue
		}
		if line[0] != ':' { // ':' starts a comment (keep-alive)
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "data":
				if have {
					ev.Data = append(ev.Data, '\n')
				}
				ev.Data = append(ev.Data, value...)
				have = true
			case "event":
				ev.Name = string(value)
			case "error":
				ev.Name = "error"
				ev.Data = append(ev.Data[:0], value...)
				have = true
			}
			if len(ev.Data) > er.max {
				return Event{}, fmt.Errorf("%w (over %d bytes)", ErrEventTooLarge, er.max)
			}
		}
		if eof {
			if have {
				return ev, nil
			}
			return Event{}, io.EOF
		}
	}
}

// readLine reads one line without its terminator (LF, CRLF or CR-less),
// refusing lines longer than the event limit.
func (er *EventReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := er.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > er.max+16 {
			return nil, fmt.Errorf("%w (line over %d bytes)", ErrEventTooLarge, er.max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, err
	}
}
