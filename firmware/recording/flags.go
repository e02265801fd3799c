package recording

import "strings"

// flagMeanings say what each flag on a call means, for the call page
// and a case's cover letter.
var flagMeanings = map[string]string{
	"opted_out":              "A party asked during the call not to be recorded.",
	"video":                  "A video call: only its audio was recorded.",
	"srtp":                   "The media was encrypted (SRTP) and decrypted with the keys in the signalling.",
	"one_way:left":           "No audio came from the outside party.",
	"one_way:right":          "No audio came from the practice side.",
	"no_media":               "No audio was seen for this call.",
	"extra_streams":          "The call had more audio streams than the two recorded.",
	"restarted":              "The recorder restarted during the call: the recording continues in another.",
	"not_recorded:disk_full": "Not recorded: the disk had reached its reserve.",
	"unanswered_attempt":     "An attempt that was never answered.",
	"erased":                 "The recording was erased on request (an erasure case); only its details remain.",
	"do_not_record":          "A number on the do-not-record list: not recorded.",
	"duplicates_dropped":     "Duplicate packets from the mirror port were dropped.",
	"tcp_gaps":               "Some SIP over TCP was missing from the capture.",
	"missed_invite":          "The start of the call was not seen; it was picked up mid-call.",
	"forked":                 "The call rang several phones at once.",
	"b2bua_legs":             "The PBX bridged this call through several legs.",
	"auth":                   "The PBX asked the caller to authenticate.",
}

// FlagMeaning says what a call's flag means, for people ("" if unknown).
func FlagMeaning(f string) string {
	if m, ok := flagMeanings[f]; ok {
		return m
	}
	if c, ok := strings.CutPrefix(f, "unsupported_codec:"); ok {
		return "A codec the box cannot decode (" + c + "): that audio is missing."
	}
	return ""
}
