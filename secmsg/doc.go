// Package secmsg is the security message format that the Moat agent sends
// and the Moat server validates and consumes. It keeps the shape of Azure
// IoT's security agent messages — an envelope naming the agent and a list of
// events, each with a payload of typed items — and adds Moat extensions:
// aggregated triggered items (HitCount, FirstSeen, LastSeen) and snapshot
// differences for periodic events (SnapshotMode, Change).
//
// A producer builds events with [NewEvent], wraps them with [NewMessage] and
// encodes with [Message.Marshal], which validates first:
//
//	e := secmsg.NewEvent(secmsg.NameLogin, now, secmsg.Login{
//		Operation: secmsg.OperationLogin, Result: secmsg.ResultFail,
//		UserName: "root", RemoteAddress: "203.0.113.7", AuthMethod: secmsg.AuthPassword,
//		Aggregate: secmsg.Aggregate{HitCount: 6, FirstSeen: "2025-01-01T10:00:00Z", LastSeen: "2025-01-01T10:03:10Z"},
//	})
//	body, err := secmsg.NewMessage("1.0.0", agentID, e).Marshal()
//
// A consumer calls [Parse], which decodes strictly into typed payload items
// (one Go type per event name, see [Item]) and returns only messages that
// pass [Message.Validate]. Every refusal is a [*ValidationError] carrying
// the path of the offending value and a reason code.
//
// The package depends on the standard library only: it is built into the
// on-device agent as well as the server. The schema is described in
// docs/security-message.md.
package secmsg
