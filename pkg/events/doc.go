// Package events is the wire contract between the rebalancer's services (DESIGN §4–§5): the
// messages that travel on the REBAL stream, how they are named, identified and validated.
//
// Guarantees:
//   - Every event is plain JSON with its type and integer version both in the body and in the
//     message headers (HeaderType, HeaderVersion). Adding an optional field keeps the version; a
//     breaking change adds a version, and Decode upgrades every supported older version to the
//     current struct, so consumers only ever see current types.
//   - Amounts are base-unit integers written as decimal strings (Amount), with their decimals beside
//     them; there is no floating point anywhere in this package.
//   - Every type has Validate, which names the offending field in its error; Decode validates, so a
//     consumer never acts on an event that Decode returned without error.
//   - Subject and MsgID give each event its stream subject and its Nats-Msg-Id, which is what makes
//     republishing the same fact a no-op inside the stream's duplicate window.
//   - Golden files under testdata must decode, validate and re-encode byte for byte forever.
//
// The package imports only the standard library, so that other programs (an inventory client, an
// operator tool) can depend on it without pulling in the services.
package events
