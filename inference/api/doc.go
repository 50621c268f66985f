// Package api holds OpenAI-compatible request and response types for
// /v1/completions, /v1/chat/completions and /v1/models, their SSE streaming
// chunks, and helpers to write and read server-sent events.
//
// The types accept the shapes that real servers produce: OpenAI's, vLLM's
// (including "token_id:N" tokens and the token_ids extension) and llama.cpp's
// (token ids inside logprob entries, the chat-style logprobs shape on
// /v1/completions). Merit's miner adds token ids to every response:
// choices[].token_ids and choices[].prompt_token_ids (vLLM's names), and an
// "id" in each chat logprob entry (llama.cpp's name).
package api
