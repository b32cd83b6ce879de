package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moatsec/moat/internal/moattest"
	"github.com/moatsec/moat/sas"
)

// TestAuthorizationMatrix sends every combination of rule rights × token
// scope × operation × expired × wrong key × revoked publisher through the real
// HTTP stack, and asserts each cell's status and reason.
func TestAuthorizationMatrix(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "h", 2)
	mustHub(t, s, "other", 1)

	rightsSets := map[string][]string{
		"send": {"Send"}, "listen": {"Listen"}, "manage": {"Manage"}, "sendlisten": {"Send", "Listen"},
	}
	keys := map[string]string{}
	for name, rights := range rightsSets {
		r, err := s.Client.PutRule(ctx, "", name, rights)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = r.PrimaryKey
	}
	scopes := []string{"/", "/h", "/h/publishers/p1", "/other"}
	type op struct {
		name, method, path, resource, right string
		okStatus                            int
		publisher                           string
	}
	ops := []op{
		{"send hub", "POST", "/h/messages", "/h", "Send", 201, ""},
		{"send publisher p1", "POST", "/h/publishers/p1/messages", "/h/publishers/p1", "Send", 201, "p1"},
		{"send publisher P1 (case)", "POST", "/h/publishers/P1/messages", "/h/publishers/p1", "Send", 201, "p1"},
		{"send publisher p2", "POST", "/h/publishers/p2/messages", "/h/publishers/p2", "Send", 201, "p2"},
		{"send partition", "POST", "/h/partitions/0/messages", "/h/partitions/0", "Send", 201, ""},
		{"read partition", "GET", "/h/partitions/0/events?limit=1", "/h/partitions/0", "Listen", 200, ""},
		{"checkpoint", "GET", "/h/consumergroups/cg/checkpoints/0", "/h/consumergroups/cg", "Listen", 404, ""},
		{"list hubs", "GET", "/api/v1/hubs", "/", "Manage", 200, ""},
		{"revoked list", "GET", "/h/revokedpublishers", "/h", "Manage", 200, ""},
		{"send other hub", "POST", "/other/messages", "/other", "Send", 201, ""},
	}
	// The expected outcome, from the rules as documented: signature, then
	// expiry, then scope (parent by whole segments), then rights (Manage
	// implies Send and Listen), then the publisher's revocation.
	covers := func(scope, resource string) bool {
		return scope == "/" || resource == scope || strings.HasPrefix(resource, scope+"/")
	}
	expect := func(rights []string, scope string, o op, expired, wrongKey, revoked bool) result {
		switch {
		case wrongKey:
			return result{401, "bad_signature"}
		case expired:
			return result{401, "expired_token"}
		case !covers(scope, o.resource):
			return result{401, "wrong_resource"}
		case !slices.Contains(rights, o.right) && !slices.Contains(rights, "Manage"):
			return result{401, "insufficient_rights"}
		case revoked && o.publisher == "p1":
			return result{401, "publisher_revoked"}
		case o.okStatus == 404:
			return result{404, "checkpoint_not_found"}
		}
		return result{o.okStatus, ""}
	}
	cells := 0
	for _, revoked := range []bool{false, true} {
		if revoked {
			if err := s.Client.Revoke(ctx, "h", "p1"); err != nil {
				t.Fatal(err)
			}
		}
		for name, rights := range rightsSets {
			for _, scope := range scopes {
				for _, o := range ops {
					for _, expired := range []bool{false, true} {
						for _, wrongKey := range []bool{false, true} {
							key := keys[name]
							if wrongKey {
								key = keys[otherRule(name)]
							}
							ttl := time.Hour
							if expired {
								ttl = -time.Hour
							}
							tok := sign(s, scope, name, key, ttl)
							got, _ := call(t, o.method, s.URL()+o.path, tok, []byte("x"), nil)
							want := expect(rights, scope, o, expired, wrongKey, revoked)
							if got != want {
								t.Errorf("rights=%s scope=%s op=%q expired=%v wrongKey=%v revoked=%v: got %+v, want %+v",
									name, scope, o.name, expired, wrongKey, revoked, got, want)
							}
							cells++
						}
					}
				}
			}
		}
	}
	if want := 2 * len(rightsSets) * len(scopes) * len(ops) * 2 * 2; cells != want {
		t.Fatalf("asserted %d cells, want %d", cells, want)
	}
}

func otherRule(name string) string {
	if name == "send" {
		return "listen"
	}
	return "send"
}

// TestTokenFormsAndMissing covers the token shapes that never reach the matrix.
func TestTokenFormsAndMissing(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	mustHub(t, s, "h", 1)
	ns := s.Root.Namespace()
	kn, key := s.Root.SharedAccessKeyName, s.Root.SharedAccessKey
	exp := time.Now().Add(time.Hour)
	cases := []struct {
		name  string
		token string
		want  result
	}{
		{"no token", "", result{401, "missing_token"}},
		{"garbage", "Bearer abc", result{401, "malformed_token"}},
		{"missing sig", "SharedAccessSignature sr=x&se=1&skn=a", result{401, "malformed_token"}},
		{"other namespace", signURI("sb://evil.example/h", kn, key, exp), result{401, "wrong_resource"}},
		{"unknown rule", signURI("sb://"+ns+"/h", "nosuchrule", key, exp), result{401, "bad_signature"}},
		{"https scheme", signURI("https://"+ns+"/h", kn, key, exp), result{201, ""}},
		{"no scheme", signURI(ns+"/h", kn, key, exp), result{201, ""}},
		{"upper-case host and path", signURI("sb://"+strings.ToUpper(ns)+"/H", kn, key, exp), result{201, ""}},
		{"trailing slash", signURI("sb://"+ns+"/h/", kn, key, exp), result{201, ""}},
		{"prefix is not a parent", signURI("sb://"+ns+"/hx", kn, key, exp), result{401, "wrong_resource"}},
	}
	for _, c := range cases {
		got, _ := call(t, "POST", s.URL()+"/h/messages", c.token, []byte("x"), nil)
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func signURI(uri, kn, key string, exp time.Time) string { return sas.Sign(uri, kn, key, exp) }

// TestHubRuleConfinedToItsHub: a hub-level rule's key cannot authorize
// another hub, even in a token scoped to the whole namespace.
func TestHubRuleConfinedToItsHub(t *testing.T) {
	s := moattest.Start(t, moattest.Options{})
	ctx := context.Background()
	mustHub(t, s, "a", 1)
	mustHub(t, s, "b", 1)
	r, err := s.Client.PutRule(ctx, "a", "hubsender", []string{"Send"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		scope, path string
		want        result
	}{
		{"/a", "/a/messages", result{201, ""}},
		{"/a/publishers/d", "/a/publishers/d/messages", result{201, ""}},
		{"/b", "/b/messages", result{401, "bad_signature"}},
		{"/", "/b/messages", result{401, "bad_signature"}},
		{"/", "/a/messages", result{401, "bad_signature"}},
	}
	for _, c := range cases {
		got, _ := call(t, "POST", s.URL()+c.path, sign(s, c.scope, "hubsender", r.PrimaryKey, time.Hour), []byte("x"), nil)
		if got != c.want {
			t.Errorf("scope %s → %s: got %+v, want %+v", c.scope, c.path, got, c.want)
		}
	}
	// Both keys of the rule work.
	got, _ := call(t, "POST", s.URL()+"/a/messages", sign(s, "/a", "hubsender", r.SecondaryKey, time.Hour), []byte("x"), nil)
	if got.Status != http.StatusCreated {
		t.Errorf("secondary key: %+v", got)
	}
}
