package telegram_test

import (
	"encoding/json"
	"testing"

	"github.com/tandem-crm/tandem/internal/chat/telegram"
)

// FuzzInbound feeds webhook bodies to the update parsing: whatever arrives,
// it never panics, and what it accepts is a private message with a sender
// and an address to answer.
func FuzzInbound(f *testing.F) {
	for _, seed := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1700000000,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"A"},"text":"hi"}}`,
		`{"update_id":2,"edited_message":{"message_id":1,"chat":{"id":5,"type":"private"},"from":{"id":5},"text":"edit"}}`,
		`{"update_id":3,"message":{"chat":{"id":-100123,"type":"supergroup"},"from":{"id":5},"text":"group"}}`,
		`{"update_id":4,"message":{"chat":{"id":5,"type":"private"},"from":{"id":5},"photo":[{"file_id":"a","width":90},{"file_id":"b","width":800}],"caption":"pic"}}`,
		`{"update_id":5,"message":{"chat":{"id":5,"type":"private"},"from":{"id":5},"contact":{"phone_number":"+1555","user_id":5}}}`,
		`{"update_id":6,"my_chat_member":{"chat":{"id":5,"type":"private"},"new_chat_member":{"status":"kicked"}}}`,
		`{"update_id":"x"}`, `[]`, `null`, `{"message":{"from":null}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var u telegram.Update
		if json.Unmarshal(body, &u) != nil {
			return
		}
		in, ok, _ := telegram.Inbound(u)
		if !ok {
			return
		}
		if in.ID == "" || in.Address == "" || in.Address == "0" || in.Customer.ID == "" || in.Customer.ID == "0" {
			t.Fatalf("accepted an update without an id, address or sender: %+v", in)
		}
	})
}
