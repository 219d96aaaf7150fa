package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestAdminJobsTicksAndRetry: completed runs of periodic jobs (the
// scheduler's ticks) are hidden unless asked for; a completed job offers
// no Retry, and a retry posted anyway is refused with a message.
func TestAdminJobsTicksAndRetry(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)
	// maintenance.cleanup runs every hour: a tick.
	done, _, err := s.App.Queue.Enqueue(ctx, housekeeping{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.WaitJob(t, done, jobs.StateCompleted)
	id := strconv.FormatInt(done, 10)
	row := `<td class="num mono">` + id + `</td>`

	p := b.Get(t, "/admin/jobs")
	wantStatus(t, "jobs", p, http.StatusOK)
	mustHave(t, "jobs", p.Body, `name="ticks" value="1">`, tr(i18n.En, "admin.jobs.show_ticks"))
	mustLack(t, "jobs", p.Body, row)
	p = b.Get(t, "/admin/jobs?ticks=1")
	mustHave(t, "with ticks", p.Body, row, `name="ticks" value="1" checked>`, `class="badge job-completed"`)
	mustLack(t, "with ticks", p.Body, `action="/admin/jobs/`+id+`/retry"`, `action="/admin/jobs/`+id+`/cancel"`)
	// The state tabs keep the choice.
	mustHave(t, "with ticks", p.Body, `href="/admin/jobs?state=completed&amp;ticks=1"`)

	p = b.Post(t, "/admin/jobs/"+id+"/retry", url.Values{"next": {"/admin/jobs?ticks=1"}})
	wantStatus(t, "retry completed", p, http.StatusOK)
	mustHave(t, "retry completed", p.Body, tr(i18n.En, "flash.job_not_retryable", id, i18n.En.T("admin.jobs.state.completed")))
	if j, _ := s.App.Queue.Get(ctx, done); j.State != jobs.StateCompleted {
		t.Errorf("the completed job is now %s", j.State)
	}
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {"/admin/jobs"}})
	p = b.Get(t, "/admin/jobs")
	mustHave(t, "ru", p.Body, tr(i18n.Ru, "admin.jobs.show_ticks"))
	noRawKeys(t, "ru", p.Body)
}
