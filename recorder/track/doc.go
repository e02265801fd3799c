// Package track follows calls passively: it joins SIP dialogs, their SDP
// offers and answers and the RTP that flows, into calls that a supervisor
// would recognise — one per conversation leg, transfers linked by a shared
// conversation id — and emits a typed event stream (started, media,
// held, resumed, DTMF, transferred, ended) for the audio pipeline and the
// index. RTP that no SDP announced is still tracked, as an unsignalled
// call. Everything it holds is bounded.
package track
