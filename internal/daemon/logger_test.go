package daemon

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "shown" || line["level"] != "info" {
		t.Fatalf("%v %q", err, buf.String())
	}

	buf.Reset()
	if log, err = NewLogger(&buf, "console", "debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("hello")
	if !strings.Contains(buf.String(), "DEBUG\thello") {
		t.Fatalf("console: %q", buf.String())
	}

	if _, err := NewLogger(&buf, "xml", "info"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("format: %v", err)
	}
	if _, err := NewLogger(&buf, "json", "loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("level: %v", err)
	}
	if _, err := NewLogger(nil, "json", "info"); err != nil {
		t.Errorf("nil writer: %v", err)
	}
}
