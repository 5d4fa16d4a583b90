// Package oauthtest holds test helpers for clients of MCP Share's authorization server that
// live on the public internet: a certificate authority for the fake public hosts that serve
// client metadata documents, and a client key that publishes a JWK set and signs
// private_key_jwt assertions the way ChatGPT does. It is for tests only; nothing in the app
// imports it.
package oauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// CA is a certificate authority whose one certificate covers the given host names and
// addresses.
type CA struct {
	Pool    *x509.CertPool  // trust this to trust Cert
	Cert    tls.Certificate // for a tls.Config of the fake hosts
	CertPEM []byte          // the CA certificate, for SSL_CERT_FILE of a child process
}

// NewCA creates a CA and a certificate for hosts (names or IP addresses), valid for a day.
func NewCA(hosts ...string) (*CA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "oauthtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &CA{
		Pool:    pool,
		Cert:    tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}, nil
}

// ClientKey is a client's signing key with its key ID.
type ClientKey struct {
	KeyID     string
	Algorithm jose.SignatureAlgorithm
	Private   crypto.Signer
}

// NewRSAKey makes a 2048-bit RSA key that signs RS256.
func NewRSAKey(kid string) (*ClientKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &ClientKey{KeyID: kid, Algorithm: jose.RS256, Private: k}, nil
}

// NewECKey makes a P-256 key that signs ES256.
func NewECKey(kid string) (*ClientKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &ClientKey{KeyID: kid, Algorithm: jose.ES256, Private: k}, nil
}

// JWKS returns the JWK set of the public halves of keys, as a jwks_uri serves it.
func JWKS(keys ...*ClientKey) []byte {
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.KeyID, Algorithm: string(k.Algorithm), Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

// Claims are the claims of a client assertion; zero fields are left out.
type Claims struct {
	Issuer, Subject, ID string
	Audience            []string
	Expiry, IssuedAt    time.Time
	NotBefore           time.Time
}

// Assertion signs claims as a client_assertion (RFC 7523) with k.
func (k *ClientKey) Assertion(c Claims) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Algorithm, Key: k.Private},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.KeyID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claimsMap(c)).Serialize()
}

// ClientAssertion is the assertion a client sends to the token endpoint of issuer: iss = sub =
// clientID, aud the token endpoint, a fresh jti, and one minute of life from now.
func (k *ClientKey) ClientAssertion(clientID, issuer string, now time.Time) (string, error) {
	return k.Assertion(Claims{
		Issuer: clientID, Subject: clientID, Audience: []string{issuer + "/token"},
		ID: rand.Text(), IssuedAt: now, Expiry: now.Add(time.Minute),
	})
}

func claimsMap(c Claims) map[string]any {
	m := map[string]any{}
	for k, v := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID} {
		if v != "" {
			m[k] = v
		}
	}
	if len(c.Audience) == 1 {
		m["aud"] = c.Audience[0]
	} else if len(c.Audience) > 1 {
		m["aud"] = c.Audience
	}
	for k, t := range map[string]time.Time{"exp": c.Expiry, "iat": c.IssuedAt, "nbf": c.NotBefore} {
		if !t.IsZero() {
			m[k] = t.Unix()
		}
	}
	return m
}

// UnsignedAssertion is an assertion with "alg": "none": refused by any careful server.
func UnsignedAssertion(c Claims) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claimsMap(c)) + "."
}

// HMACWithPublicKey signs claims with HS256, keyed with the PEM of k's public key: the classic
// confusion attack on servers that let the token choose the algorithm.
func (k *ClientKey) HMACWithPublicKey(c Claims) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		return "", err
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.KeyID))
	if err != nil {
		return "", fmt.Errorf("HS256 signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claimsMap(c)).Serialize()
}
