package httpapi

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestSetTokens checks a token reload: the new set authenticates the
// requests that follow, a removed token gets 401, roles follow the new set,
// and an invalid set changes nothing.
func TestSetTokens(t *testing.T) {
	h := newHarness(t, Config{Tokens: map[string]string{"old": "admin", "keep": "firm:alpha"}}, newFake())
	if code, body := h.do(t, "GET", "/v1/accounts", "old", ""); code != 200 {
		t.Fatalf("old token before the reload: %d %s", code, body)
	}
	// "keep" becomes firm beta's token.
	if err := h.srv.SetTokens(map[string]string{"new": "admin", "keep": "firm:beta"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.do(t, "GET", "/v1/accounts", "old", ""); code != 401 {
		t.Errorf("removed token: %d, want 401", code)
	}
	if code, body := h.do(t, "GET", "/v1/accounts", "new", ""); code != 200 {
		t.Errorf("new token: %d %s", code, body)
	}
	if code, _ := h.do(t, "GET", "/v1/accounts/1", "keep", ""); code != 403 {
		t.Errorf("alpha's account with the token now beta's: %d, want 403", code)
	}
	if code, body := h.do(t, "GET", "/v1/accounts/3", "keep", ""); code != 200 {
		t.Errorf("beta's account: %d %s", code, body)
	}

	for name, bad := range map[string]map[string]string{
		"empty token": {"": "admin"},
		"long token":  {strings.Repeat("x", TokenBytesMax+1): "admin"},
		"bad role":    {"fine": "root"},
		"bad firm":    {"fine": "firm:"},
	} {
		if err := h.srv.SetTokens(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
	many := make(map[string]string, TokensMax+1)
	for i := range TokensMax + 1 {
		many[strings.Repeat("t", 1+i%64)+string(rune('a'+i/64%26))+string(rune('a'+i/(64*26)))] = "ops"
	}
	if len(many) != TokensMax+1 {
		t.Fatalf("built %d tokens", len(many))
	}
	if err := h.srv.SetTokens(many); !errors.Is(err, ErrConfig) {
		t.Errorf("%d tokens: err %v, want ErrConfig", len(many), err)
	}
	if code, body := h.do(t, "GET", "/v1/accounts", "new", ""); code != 200 {
		t.Errorf("a refused set changed the tokens: %d %s", code, body)
	}
}

// TestSetTokensConcurrent swaps the token set while requests are served
// (run with -race).
func TestSetTokensConcurrent(t *testing.T) {
	h := newHarness(t, Config{Tokens: map[string]string{"a": "admin"}}, newFake())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		sets := []map[string]string{{"a": "admin", "b": "ops"}, {"a": "admin"}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := h.srv.SetTokens(sets[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 50 {
		if code, _ := h.do(t, "GET", "/v1/accounts", "a", ""); code != 200 {
			t.Fatalf("request during swaps: %d", code)
		}
	}
	close(stop)
	wg.Wait()
}
