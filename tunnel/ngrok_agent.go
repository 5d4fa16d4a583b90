package tunnel

import (
	"context"
	"net"

	"golang.ngrok.com/ngrok/v2"
)

// listenNgrok is the only code that calls the ngrok SDK: it connects an agent
// and binds an https endpoint on cfg.Domain (a random one when empty). The
// session lives as long as ctx, so ctx must not be Start's deadline.
func listenNgrok(ctx context.Context, cfg NgrokConfig, onEvent func(connected bool, err error)) (net.Listener, string, func() error, error) {
	opts := []ngrok.AgentOption{
		ngrok.WithAuthtoken(cfg.Authtoken),
		ngrok.WithEventHandler(func(e ngrok.Event) {
			switch e := e.(type) {
			case *ngrok.EventAgentConnectSucceeded:
				onEvent(true, nil)
			case *ngrok.EventAgentDisconnected:
				onEvent(false, e.Error)
			}
		}),
	}
	if cfg.Logger != nil {
		opts = append(opts, ngrok.WithLogger(cfg.Logger))
	}
	if cfg.ConnectURL != "" {
		opts = append(opts, ngrok.WithAgentConnectURL(cfg.ConnectURL))
	}
	if cfg.ConnectCAs != nil {
		opts = append(opts, ngrok.WithAgentConnectCAs(cfg.ConnectCAs))
	}
	agent, err := ngrok.NewAgent(opts...)
	if err != nil {
		return nil, "", nil, err
	}
	if err := agent.Connect(ctx); err != nil {
		return nil, "", nil, err
	}
	var endpoint []ngrok.EndpointOption // none: a random https URL
	if cfg.Domain != "" {
		endpoint = append(endpoint, ngrok.WithURL("https://"+cfg.Domain))
	}
	ln, err := agent.Listen(ctx, endpoint...)
	if err != nil {
		agent.Disconnect()
		return nil, "", nil, err
	}
	return ln, ln.URL().String(), agent.Disconnect, nil
}
