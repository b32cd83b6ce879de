package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureSelfSignedCoversHostsAndServes(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
	hosts := []string{"localhost", "127.0.0.1", "::1", "ns.example"}
	created, err := EnsureSelfSigned(cert, key, hosts, time.Now())
	if err != nil || !created {
		t.Fatalf("EnsureSelfSigned: created=%v err=%v", created, err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
	}
	pemData, _ := os.ReadFile(cert)
	block, _ := pem.Decode(pemData)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "ns.example", "127.0.0.1", "::1"} {
		if err := c.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if err := c.VerifyHostname("other.example"); err == nil {
		t.Error("certificate covers a host it should not")
	}

	// A real TLS handshake using the generated pair and the cert as the CA.
	srvCfg, err := ServerConfig(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = srvCfg
	srv.StartTLS()
	defer srv.Close()
	cliCfg, err := ClientConfig(cert, false)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cliCfg}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resp, err := client.Get("https://localhost:" + port + "/")
	if err != nil {
		t.Fatalf("TLS request with generated CA: %v", err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("unexpected TLS state %+v", resp.TLS)
	}

	// Second call keeps the existing pair.
	created, err = EnsureSelfSigned(cert, key, hosts, time.Now())
	if err != nil || created {
		t.Fatalf("second EnsureSelfSigned: created=%v err=%v", created, err)
	}
}

func TestEnsureSelfSignedRefusesHalfPair(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("x"), 0o644)
	if _, err := EnsureSelfSigned(cert, key, []string{"localhost"}, time.Now()); err == nil {
		t.Fatal("a lone certificate file was accepted")
	}
}

func TestClientConfigRejectsNonPEM(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, []byte("not pem"), 0o644)
	if _, err := ClientConfig(f, false); err == nil {
		t.Fatal("non-PEM CA accepted")
	}
}
