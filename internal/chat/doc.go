// Package chat owns omnichannel chat (SPEC §5): queues and their routing
// rules, operators and their capacity, chats from arrival to completion,
// the timers that move them (accept timeout, completion timeout), replies
// sent back through the channel, chat actions, and the live event stream
// the operator panel listens to.
//
// A channel kind (Telegram, Messenger) plugs in as an Adapter: it sends
// replies and may add optional capabilities (registering a webhook, long
// polling, handing a thread back to a bot) as separate small interfaces.
// Adapters turn what their service delivers into Inbound events and give
// them to the Service; the Service never parses a service's wire format.
//
// The moves between operators are single conditional transactions in the
// store (see store.AcceptChat, store.OfferChat): the Service decides what
// to ask for and publishes what happened.
package chat
