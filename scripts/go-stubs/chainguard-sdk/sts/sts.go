// Package sts stands in for chainguard.dev/sdk/sts, which the Go module proxy reachable here does
// not serve. apko (and melange, through apko) use it only to exchange an OIDC token for a
// Chainguard registry token (apk.cgr.dev); our tests never talk to Chainguard, so every exchange
// fails with a clear error. scripts/tools.sh points apko's and melange's builds at this module.
package sts

import (
	"context"
	"errors"
)

// TokenPair is what an exchange yields.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
}

// ExchangerOption configures an Exchanger; the stand-in ignores them.
type ExchangerOption func(*options)

type options struct{}

// WithIdentity names the Chainguard identity to assume.
func WithIdentity(string) ExchangerOption { return func(*options) {} }

// WithUserAgent sets the user agent of exchange requests.
func WithUserAgent(string) ExchangerOption { return func(*options) {} }

// Exchanger exchanges a token for a Chainguard token.
type Exchanger interface {
	Exchange(ctx context.Context, token string, opts ...ExchangerOption) (TokenPair, error)
}

type unavailable struct{}

// New returns an Exchanger whose exchanges always fail.
func New(issuer, audience string, opts ...ExchangerOption) Exchanger { return unavailable{} }

func (unavailable) Exchange(context.Context, string, ...ExchangerOption) (TokenPair, error) {
	return TokenPair{}, errors.New("chainguard token exchange is not available in this build (chainguard.dev/sdk is stubbed)")
}
