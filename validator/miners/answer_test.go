package miners

import (
	"errors"
	"testing"
)

func TestAnswerLegacyShapeWithTokenIDs(t *testing.T) {
	var a Answer
	chunks := []string{
		`{"choices":[{"index":0,"text":" the","logprobs":{"tokens":[" the"],"token_logprobs":[-0.5],"top_logprobs":[{" the":-0.5}]},"finish_reason":null,"prompt_token_ids":[1,5,6],"token_ids":[300]}]}`,
		`{"choices":[{"index":0,"text":" cat","logprobs":{"tokens":[" cat"],"token_logprobs":[-1.25]},"finish_reason":null,"token_ids":[301]}]}`,
		`{"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length"}]}`,
		`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
	}
	var contents []bool
	for _, c := range chunks {
		got, err := a.Add([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		contents = append(contents, got)
	}
	if !contents[0] || !contents[1] || contents[2] || contents[3] {
		t.Fatalf("content flags %v", contents)
	}
	p, err := a.Parts(false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != " the cat" || p.FinishReason != "length" || len(p.Tokens) != 2 || p.Tokens[1] != 301 ||
		p.Logprobs[1] != -1.25 || len(p.PromptTokens) != 3 || p.TopLogprobs != nil {
		t.Fatalf("%+v", p)
	}
}

func TestAnswerChatShapeWithIDs(t *testing.T) {
	var a Answer
	for _, c := range []string{
		`{"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null,"prompt_token_ids":[1,2]}]}`,
		`{"choices":[{"index":0,"delta":{"content":"hi"},"logprobs":{"content":[{"token":"hi","logprob":-0.1,"bytes":[104,105],"id":77,"top_logprobs":[{"token":"hi","logprob":-0.1,"bytes":[104,105],"id":77},{"token":"ho","logprob":-3,"bytes":[104,111],"id":78}]}]},"finish_reason":null}]}`,
		`{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
	} {
		if _, err := a.Add([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := a.Parts(true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "hi" || p.Tokens[0] != 77 || len(p.TopLogprobs) != 1 || p.TopLogprobs[0][1].ID != 78 || p.FinishReason != "stop" {
		t.Fatalf("%+v", p)
	}
}

func TestAnswerMalformed(t *testing.T) {
	cases := map[string][]string{
		"no finish":        {`{"choices":[{"index":0,"text":"a","logprobs":{"tokens":["a"],"token_logprobs":[-1]},"token_ids":[5]}]}`},
		"ids mismatch":     {`{"choices":[{"index":0,"text":"a","logprobs":{"tokens":["a"],"token_logprobs":[-1]},"token_ids":[5,6],"finish_reason":"stop"}]}`},
		"no ids":           {`{"choices":[{"index":0,"text":"a","logprobs":{"tokens":["a"],"token_logprobs":[-1]},"finish_reason":"stop"}]}`},
		"error object":     {`{"error":{"message":"boom"}}`},
		"not json":         {`data`},
		"after the finish": {`{"choices":[{"index":0,"text":"","finish_reason":"stop"}]}`, `{"choices":[{"index":0,"text":"more"}]}`},
	}
	for name, chunks := range cases {
		var a Answer
		var err error
		for _, c := range chunks {
			if _, err = a.Add([]byte(c)); err != nil {
				break
			}
		}
		if err == nil {
			_, err = a.Parts(false)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Ids without logprobs are left to the verifier (missing_logprobs).
	var a Answer
	a.Add([]byte(`{"choices":[{"index":0,"text":"a","token_ids":[5],"finish_reason":"stop","prompt_token_ids":[1]}]}`))
	if p, err := a.Parts(false); err != nil || p.Logprobs != nil || p.Tokens[0] != 5 {
		t.Fatalf("%+v %v", p, err)
	}
}
