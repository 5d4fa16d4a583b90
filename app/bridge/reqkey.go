package bridge

import (
	"context"
	"reflect"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The go-sdk's StreamableServerTransport routes a message written to it to
// the HTTP response of the client request it relates to only when the write's
// context carries that request's id under an unexported key (mcp.idContextKey,
// set by mcp.ServerSession for its handlers). A bridge has no handlers, so it
// learns the key once by running an in-memory mcp.Server and reading the key's
// type from a handler's context. Without the key (a future SDK may rename it)
// every message from the child goes to the session's GET stream, which is
// still correct for clients that open one.

// findRequestIDKey returns a value equal to the go-sdk's request id context
// key, or nil when it cannot be found.
func findRequestIDKey() any {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var key any
	srv := mcp.NewServer(&mcp.Implementation{Name: "probe", Version: "0"}, nil)
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if key == nil {
				key = keyOfType(ctx, "github.com/modelcontextprotocol/go-sdk/mcp", "idContextKey")
			}
			return next(ctx, method, req)
		}
	})
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		return nil
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "probe", Version: "0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return nil
	}
	cs.Close()
	return key
}

// keyOfType walks ctx's chain of context.WithValue layers and returns a zero
// value of the key type pkg.name if one of the layers uses it.
func keyOfType(ctx context.Context, pkg, name string) any {
	v := reflect.ValueOf(ctx)
	for range 100 {
		for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		if k := v.FieldByName("key"); k.IsValid() && k.Kind() == reflect.Interface && !k.IsNil() {
			t := k.Elem().Type()
			if t.PkgPath() == pkg && t.Name() == name {
				return reflect.New(t).Elem().Interface()
			}
		}
		parent := v.FieldByName("Context")
		if !parent.IsValid() {
			parent = v.FieldByName("c") // context.withoutCancelCtx
		}
		if !parent.IsValid() {
			return nil
		}
		v = parent
	}
	return nil
}
