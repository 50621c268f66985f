package api

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/meritnet/merit/inference"
)

func TestPromptJSON(t *testing.T) {
	cases := []struct {
		in     string
		text   string
		tokens []int
		err    bool
	}{
		{`"hello"`, "hello", nil, false},
		{`[1, 2, 3]`, "", []int{1, 2, 3}, false},
		{`["hello"]`, "hello", nil, false},
		{`[[5, 6]]`, "", []int{5, 6}, false},
		{`[]`, "", []int{}, false},
		{`["a", "b"]`, "", nil, true},
		{`[[1], [2]]`, "", nil, true},
		{`[1.5]`, "", nil, true},
		{`{}`, "", nil, true},
		{`[["x"]]`, "", nil, true},
	}
	for _, c := range cases {
		var r CompletionRequest
		err := json.Unmarshal([]byte(`{"model":"m","prompt":`+c.in+`}`), &r)
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if err == nil && (r.Prompt.Text != c.text || !reflect.DeepEqual(r.Prompt.Tokens, c.tokens)) {
			t.Errorf("%s: %+v", c.in, r.Prompt)
		}
	}
	b, _ := json.Marshal(CompletionRequest{Model: "m", Prompt: Prompt{Tokens: []int{1, 2}}})
	if !strings.Contains(string(b), `"prompt":[1,2]`) {
		t.Errorf("marshal: %s", b)
	}
}

func TestStopAndContent(t *testing.T) {
	var r ChatCompletionRequest
	in := `{"model":"m","stop":"\n","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null},{"role":"user","content":"c"}]}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Stop, StopList{"\n"}) || r.Messages[0].Content != "ab" || r.Messages[1].Content != "" || r.Messages[2].Content != "c" {
		t.Fatalf("%+v", r)
	}
	if err := json.Unmarshal([]byte(`{"stop":["a","b"]}`), &r); err != nil || len(r.Stop) != 2 {
		t.Fatal(err, r.Stop)
	}
	if err := json.Unmarshal([]byte(`{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`), &r); err == nil {
		t.Fatal("image part accepted")
	}
	max := 7
	r = ChatCompletionRequest{MaxTokens: &max}
	if *r.CompletionMaxTokens() != 7 {
		t.Fatal("max tokens")
	}
}

func TestTopLogprobMapOrder(t *testing.T) {
	m := TopLogprobMap{{"z", -0.1}, {"a", -2}, {"m", -3.5}}
	b, err := json.Marshal(m)
	if err != nil || string(b) != `{"z":-0.1,"a":-2,"m":-3.5}` {
		t.Fatalf("%s %v", b, err)
	}
	var back TopLogprobMap
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Fatalf("%v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`[1]`), &back); err == nil {
		t.Fatal("array accepted")
	}
}

func TestFinishReasonNull(t *testing.T) {
	b, _ := json.Marshal(ChatChunkChoice{})
	if !strings.Contains(string(b), `"finish_reason":null`) || !strings.Contains(string(b), `"logprobs":null`) {
		t.Fatalf("%s", b)
	}
	b, _ = json.Marshal(ChatChunkChoice{FinishReason: "stop"})
	if !strings.Contains(string(b), `"finish_reason":"stop"`) {
		t.Fatalf("%s", b)
	}
}

func TestDecodeError(t *testing.T) {
	cases := map[string]string{
		`{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"x"}}`:                                                  "bad",
		`{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}`:                "the request exceeds the available context size",
		`{"object":"error","message":"This model's maximum context length is 2048 tokens.","type":"BadRequestError","param":null,"code":400}`: "This model's maximum context length is 2048 tokens.",
		`{"error":"model not found"}`:           "model not found",
		`{"detail":[{"msg":"field required"}]}`: `[{"msg":"field required"}]`,
		"upstream connect error":                "upstream connect error",
	}
	for in, want := range cases {
		if got := DecodeError([]byte(in)); got.Message != want {
			t.Errorf("%s: %q", in, got.Message)
		}
	}
}

func TestEventReader(t *testing.T) {
	stream := ": keep-alive\r\n" +
		"data: {\"a\":1}\r\n\r\n" +
		"event: message\n" +
		"data: line1\n" +
		"data: line2\n\n" +
		"\n\n" +
		"error: {\"code\":500,\"message\":\"boom\"}\n\n" +
		"data:nospace\n\n" +
		"data: [DONE]\n\n"
	r := NewEventReader(strings.NewReader(stream), 1<<10)
	want := []Event{
		{Data: []byte(`{"a":1}`)},
		{Name: "message", Data: []byte("line1\nline2")},
		{Name: "error", Data: []byte(`{"code":500,"message":"boom"}`)},
		{Data: []byte("nospace")},
		{Data: []byte("[DONE]")},
	}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil || ev.Name != w.Name || string(ev.Data) != string(w.Data) {
			t.Fatalf("event %d: %+v %q %v", i, ev, ev.Data, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// A final event without its blank line.
	r = NewEventReader(strings.NewReader("data: x"), 100)
	if ev, err := r.Next(); err != nil || string(ev.Data) != "x" {
		t.Fatalf("%v %v", ev, err)
	}
	// Oversized events and lines.
	r = NewEventReader(strings.NewReader("data: "+strings.Repeat("x", 200)+"\n\n"), 100)
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("big line: %v", err)
	}
	r = NewEventReader(strings.NewReader(strings.Repeat("data: xxxxxxxxxx\n", 20)), 100)
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("big event: %v", err)
	}
}

func TestWriteEvent(t *testing.T) {
	var b strings.Builder
	WriteEvent(&b, map[string]int{"x": 1})
	WriteDone(&b)
	if b.String() != "data: {\"x\":1}\n\ndata: [DONE]\n\n" {
		t.Fatalf("%q", b.String())
	}
}

func TestConvert(t *testing.T) {
	toks := []inference.Token{
		{ID: 5, Piece: " Once", Text: " Once", Logprob: -0.25, Top: []inference.TopLogprob{{ID: 5, Text: " Once", Logprob: -0.25}, {ID: 9, Text: " The", Logprob: -1.5}}},
		{ID: 200, Piece: "\xe6", Text: "\xe6", Logprob: -3},
	}
	lp := CompletionLogprobsOf(toks, 10)
	if lp.TextOffset[1] != 15 || lp.Tokens[0] != " Once" || lp.TopLogprobs[0][1].Token != " The" || len(lp.TopLogprobs[1]) != 0 {
		t.Fatalf("%+v", lp)
	}
	chat := ChatLogprobsOf(toks)
	b, err := json.Marshal(chat)
	if err != nil {
		t.Fatal(err)
	}
	var back ChatLogprobs
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, ok := TokensOfChat(&back)
	if !ok || len(got) != 2 || got[1].Piece != "\xe6" || got[1].ID != 200 || got[0].Top[1].ID != 9 || got[0].Logprob != -0.25 {
		t.Fatalf("%+v %v", got, ok)
	}
	if ids := TokenIDs(toks); ids[0] != 5 || ids[1] != 200 {
		t.Fatal(ids)
	}
	// vLLM token_id:N entries and entries without ids.
	v := &ChatLogprobs{Content: []ChatLogprob{{Token: "token_id:42", Logprob: -1}}}
	if got, ok := TokensOfChat(v); !ok || got[0].ID != 42 {
		t.Fatalf("%+v", got)
	}
	if _, ok := TokensOfChat(&ChatLogprobs{Content: []ChatLogprob{{Token: "x"}}}); ok {
		t.Fatal("entry without id accepted")
	}
	if clampLogprob(-1e300) != -9999 {
		t.Fatal("clamp")
	}
	if id, ok := ParseTokenID("token_id:-3"); ok {
		t.Fatal(id)
	}
}
