package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv"
)

// `tandem emulator telegram` prints a token and an address that work: the
// bot answers getMe, and a customer written through the printed control
// call reaches getUpdates.
func TestEmulatorTelegram(t *testing.T) {
	var help, helpErr bytes.Buffer
	if err := run([]string{"emulator", "telegram", "--help"}, &help, &helpErr); exitStatus(err, &helpErr) != 0 ||
		!strings.Contains(help.String()+helpErr.String(), "tandem emulator telegram") {
		t.Fatalf("help: %v %q %q", err, help.String(), helpErr.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb testenv.Buffer
	done := make(chan error, 1)
	go func() {
		done <- emulatorTelegram(ctx, []string{"--addr", "127.0.0.1:0", "--bot-username", "shop_bot", "--no-rate-limits"}, pw, &errb)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v\n%s", err, errb.String())
		}
	})
	printed := map[string]string{}
	var curl string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			printed[k] = strings.TrimSpace(v)
		}
		if strings.HasPrefix(line, "  curl -s ") && strings.Contains(line, "/messages -d ") && curl == "" {
			curl = strings.TrimPrefix(line, "  curl -s ")
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	token := printed["Token"]
	base := strings.Fields(printed["API base URL"] + " -")[0]
	if token == "" || !strings.HasPrefix(base, "http://127.0.0.1:") || curl == "" {
		t.Fatalf("printed %v, curl %q", printed, curl)
	}

	var me struct {
		OK     bool `json:"ok"`
		Result struct {
			Username string `json:"username"`
		} `json:"result"`
	}
	getJSON(t, base+"/bot"+token+"/getMe", &me)
	if !me.OK || me.Result.Username != "shop_bot" {
		t.Fatalf("getMe: %+v", me)
	}
	// The printed customer call, as a user would paste it.
	url, body, _ := strings.Cut(curl, " -d ")
	resp, err := http.Post(url, "application/json", strings.NewReader(strings.Trim(body, "'")))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("customer write: %v %v", resp, err)
	}
	resp.Body.Close()
	var ups struct {
		Result []struct {
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
		} `json:"result"`
	}
	getJSON(t, base+"/bot"+token+"/getUpdates", &ups)
	if len(ups.Result) != 1 || ups.Result[0].Message.Text != "Hello" {
		t.Fatalf("getUpdates: %+v", ups)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
