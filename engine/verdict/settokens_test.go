package verdict

import (
	"errors"
	"sync"
	"testing"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// TestSetTokens checks a token reload: new logins use the new set, a
// session logged in with a removed token keeps its role, and an invalid set
// changes nothing.
func TestSetTokens(t *testing.T) {
	srv, addr := startServer(t, Config{Tokens: map[string]string{"old": "firm:A", "keep": "ops"}}, newFake())
	before := dialRaw(t, addr)
	if ack := before.login("old"); ack.Status != sbe.LoginStatusOK {
		t.Fatalf("old token before the reload: %+v", ack)
	}
	if err := srv.SetTokens(map[string]string{"new": "admin", "keep": "ops"}); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, addr)
	if ack := r.login("old"); ack.Status != sbe.LoginStatusDenied {
		t.Fatalf("removed token: %+v", ack)
	}
	for _, tok := range []string{"new", "keep"} {
		if ack := dialRaw(t, addr).login(tok); ack.Status != sbe.LoginStatusOK {
			t.Fatalf("token %q after the reload: %+v", tok, ack)
		}
	}
	// The session logged in before the reload is still firm A: its own
	// account answers, firm B's is refused.
	before.send(&sbe.AccountQuery{ReqID: 1, Account: 1})
	if f := before.read(); f.Header.TemplateID != sbe.AccountStatusTemplateID {
		t.Fatalf("own account after the reload: template %d", f.Header.TemplateID)
	}
	before.send(&sbe.AccountQuery{ReqID: 2, Account: 3})
	if e := before.readError(); e.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("other firm's account: code %v", e.Code)
	}

	for name, bad := range map[string]map[string]string{
		"empty token":  {"": "admin", "fine": "ops"},
		"long token":   {string(make([]byte, 65)): "admin"},
		"NUL in token": {"a\x00b": "admin"},
		"bad role":     {"fine": "root"},
		"empty firm":   {"fine": "firm:"},
	} {
		if err := srv.SetTokens(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
	if ack := dialRaw(t, addr).login("new"); ack.Status != sbe.LoginStatusOK {
		t.Fatalf("a refused set changed the tokens: %+v", ack)
	}
	// An empty set refuses every login.
	if err := srv.SetTokens(nil); err != nil {
		t.Fatal(err)
	}
	if ack := dialRaw(t, addr).login("new"); ack.Status != sbe.LoginStatusDenied {
		t.Fatalf("empty set: %+v", ack)
	}
}

// TestSetTokensConcurrent swaps the token set while sessions log in (run
// with -race: the swap must not race with Login).
func TestSetTokensConcurrent(t *testing.T) {
	srv, addr := startServer(t, Config{Tokens: map[string]string{"a": "admin", "b": "ops"}}, newFake())
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
			if err := srv.SetTokens(sets[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 20 {
		// "a" is in every set.
		if ack := dialRaw(t, addr).login("a"); ack.Status != sbe.LoginStatusOK {
			t.Fatalf("login during swaps: %+v", ack)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkLoginLookup(b *testing.B) {
	srv, err := NewServer(Config{Tokens: testTokens, NoticeInterval: -1}, newFake())
	if err != nil {
		b.Fatal(err)
	}
	tok := []byte("tokB")
	if allocs := testing.AllocsPerRun(100, func() { srv.login(tok) }); allocs != 0 {
		b.Fatalf("login: %.0f allocs", allocs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := srv.login(tok); !ok {
			b.Fatal("denied")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
