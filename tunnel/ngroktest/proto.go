package ngroktest

import (
	"encoding/json"

	"golang.ngrok.com/muxado/v2"
)

// The JSON shapes of the agent's protocol (golang.ngrok.com/ngrok/v2 internal/tunnel/proto),
// reduced to the fields the service reads or the agent needs.
type (
	authReq struct {
		Extra struct{ Authtoken string }
	}
	authResp struct {
		Version  string
		ClientID string `json:"ClientId"`
		Error    string
		Extra    struct{ Region, AgentSessionID string }
	}
	bindReq struct {
		ClientID string `json:"Id"`
		Proto    string
		Opts     json.RawMessage
	}
	bindOpts struct {
		URL, Domain, Hostname string
	}
	bindResp struct {
		ClientID string `json:"Id"`
		URL      string
		Proto    string
		Opts     json.RawMessage
		Error    string
		Extra    struct{ Token, TunnelID string }
	}
	proxyHeader struct {
		ID             string `json:"Id"`
		ClientAddr     string
		Proto          string
		EdgeType       string
		PassthroughTLS bool
	}
)

// Stream types of the agent's muxado session.
const (
	streamAuth  muxado.StreamType = 0
	streamBind  muxado.StreamType = 1
	streamProxy muxado.StreamType = 3
)
