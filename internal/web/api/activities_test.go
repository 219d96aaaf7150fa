package api_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

type occurrenceJSON struct {
	RecurrenceID string `json:"recurrence_id"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Location     string `json:"location"`
}

type activityJSON struct {
	ID          string           `json:"id"`
	Title       string           `json:"title"`
	Status      string           `json:"status"`
	Overrides   []occurrenceJSON `json:"overrides"`
	ActualStart *string          `json:"actual_start"`
	ActualEnd   *string          `json:"actual_end"`
	Version     int64            `json:"version"`
}

// withFields is base with extra on top.
func withFields(base, extra map[string]any) map[string]any {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// TestActivityOverrides sends series with changed occurrences and reads
// them back: defaults from the generated occurrence and the series,
// overrides that change nothing dropped, and overrides that name no
// occurrence refused with the field of the input's index.
func TestActivityOverrides(t *testing.T) {
	// Ten daily 30-minute standups from Monday 2 March 2026, 09:00 UTC.
	timed := map[string]any{"title": "Standup", "type": "meeting", "location": "Room 1", "description": "Daily",
		"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:30:00Z", "time_zone": "UTC", "rrule": "FREQ=DAILY;COUNT=10"}
	// Weekly all-day reviews from Wednesday 1 July 2026.
	allDay := map[string]any{"title": "Review day", "type": "meeting", "all_day": true, "start": "2026-07-01",
		"end": "2026-07-02", "time_zone": "Europe/Moscow", "rrule": "FREQ=WEEKLY"}
	ov := func(fields ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(fields); i += 2 {
			m[fields[i]] = fields[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		want   []occurrenceJSON  // read back, on success
		errs   map[string]string // field → code, on failure
	}{
		{
			name: "moved and retitled; end and texts default",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-04T09:00:00Z", "start", "2026-03-04T11:00:00Z", "title", "Standup (late)")}}),
			status: http.StatusCreated,
			want: []occurrenceJSON{{RecurrenceID: "2026-03-04T09:00:00Z", Start: "2026-03-04T11:00:00Z",
				End: "2026-03-04T11:30:00Z", Title: "Standup (late)", Description: "Daily", Location: "Room 1"}},
		},
		{
			name: "two, sent out of order, come back by original start",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-06T09:00:00Z", "location", "Room 2"),
				ov("recurrence_id", "2026-03-03T09:00:00Z", "start", "2026-03-03T08:00:00Z", "end", "2026-03-03T10:00:00Z")}}),
			status: http.StatusCreated,
			want: []occurrenceJSON{
				{RecurrenceID: "2026-03-03T09:00:00Z", Start: "2026-03-03T08:00:00Z", End: "2026-03-03T10:00:00Z",
					Title: "Standup", Description: "Daily", Location: "Room 1"},
				{RecurrenceID: "2026-03-06T09:00:00Z", Start: "2026-03-06T09:00:00Z", End: "2026-03-06T09:30:00Z",
					Title: "Standup", Description: "Daily", Location: "Room 2"},
			},
		},
		{
			name: "equal to the generated occurrence: dropped",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-05T09:00:00Z"),
				ov("recurrence_id", "2026-03-06T09:00:00Z", "start", "2026-03-06T09:00:00Z", "title", "Standup")}}),
			status: http.StatusCreated,
			want:   []occurrenceJSON{},
		},
		{
			name: "all-day: dates on the wire",
			body: withFields(allDay, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-07-08", "start", "2026-07-09", "title", "Review (moved)")}}),
			status: http.StatusCreated,
			want: []occurrenceJSON{{RecurrenceID: "2026-07-08", Start: "2026-07-09", End: "2026-07-10",
				Title: "Review (moved)"}},
		},
		{
			name: "off the rule's time",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-04T10:00:00Z", "title", "x")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides[0].recurrence_id": "not_an_occurrence"},
		},
		{
			name: "after the series' last occurrence, second in the list",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-04T09:00:00Z", "title", "fine"),
				ov("recurrence_id", "2026-03-20T09:00:00Z", "title", "x")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides[1].recurrence_id": "not_an_occurrence"},
		},
		{
			name: "all-day, a day the rule skips",
			body: withFields(allDay, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-07-09", "title", "x")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides[0].recurrence_id": "not_an_occurrence"},
		},
		{
			name: "an excluded occurrence",
			body: withFields(timed, map[string]any{"exdates": []string{"2026-03-04T09:00:00Z"}, "overrides": []any{
				ov("recurrence_id", "2026-03-04T09:00:00Z", "title", "x")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides[0].recurrence_id": "invalid"},
		},
		{
			name:   "without a rule",
			body:   withFields(timed, map[string]any{"rrule": "", "overrides": []any{ov("recurrence_id", "2026-03-02T09:00:00Z", "title", "x")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides": "invalid"},
		},
		{
			name: "bad dates and a missing recurrence_id",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-04T09:00:00Z", "start", "soon"),
				ov("title", "no id"),
				ov("recurrence_id", "someday")}}),
			status: http.StatusBadRequest,
			errs: map[string]string{"overrides[0].start": "invalid_date", "overrides[1].recurrence_id": "required",
				"overrides[2].recurrence_id": "invalid_date"},
		},
		{
			name: "end before start",
			body: withFields(timed, map[string]any{"overrides": []any{
				ov("recurrence_id", "2026-03-03T09:00:00Z", "title", "fine"),
				ov("recurrence_id", "2026-03-04T09:00:00Z", "start", "2026-03-04T11:00:00Z", "end", "2026-03-04T10:00:00Z")}}),
			status: http.StatusBadRequest,
			errs:   map[string]string{"overrides[1].end": "end_before_start"},
		},
	}
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := a.Do(t, "POST", "/api/v1/activities", tt.body)
				if r.Status != tt.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
				}
				if tt.errs != nil {
					p := decodeProblem(t, r)
					if got := p.fields(); !maps.Equal(got, tt.errs) {
						t.Errorf("errors %v, want %v", got, tt.errs)
					}
					return
				}
				var created activityJSON
				if err := json.Unmarshal(r.Body, &created); err != nil {
					t.Fatal(err)
				}
				var got activityJSON
				a.JSON(t, "GET", "/api/v1/activities/"+created.ID, nil, http.StatusOK, &got)
				if !slices.Equal(got.Overrides, tt.want) || !slices.Equal(created.Overrides, tt.want) {
					t.Errorf("overrides %+v (created %+v), want %+v", got.Overrides, created.Overrides, tt.want)
				}
			})
		}

		// PATCH: the list is replaced when sent, kept when not, and dropped
		// where a new rule leaves it without an occurrence.
		var act activityJSON
		a.JSON(t, "POST", "/api/v1/activities", timed, http.StatusCreated, &act)
		item := "/api/v1/activities/" + act.ID
		moved := []any{ov("recurrence_id", "2026-03-09T09:00:00Z", "start", "2026-03-09T15:00:00Z")}
		a.JSON(t, "PATCH", item, map[string]any{"overrides": moved}, http.StatusOK, &act)
		if len(act.Overrides) != 1 || act.Overrides[0].Start != "2026-03-09T15:00:00Z" {
			t.Fatalf("patched overrides %+v", act.Overrides)
		}
		a.JSON(t, "PATCH", item, map[string]any{"location": "Room 9"}, http.StatusOK, &act)
		if len(act.Overrides) != 1 || act.Overrides[0].Location != "Room 1" {
			t.Errorf("overrides after a series edit %+v", act.Overrides)
		}
		r := a.Do(t, "PATCH", item, map[string]any{"overrides": []any{ov("recurrence_id", "2026-03-09T09:30:00Z", "title", "x")}})
		if p := decodeProblem(t, r); r.Status != http.StatusBadRequest || p.fields()["overrides[0].recurrence_id"] != "not_an_occurrence" {
			t.Errorf("patch naming no occurrence: %d %+v", r.Status, p.Errors)
		}
		a.JSON(t, "PATCH", item, map[string]any{"rrule": "FREQ=DAILY;COUNT=5"}, http.StatusOK, &act)
		if len(act.Overrides) != 0 {
			t.Errorf("an override beyond the new rule's end stayed: %+v", act.Overrides)
		}
		a.JSON(t, "PATCH", item, map[string]any{"overrides": []any{ov("recurrence_id", "2026-03-03T09:00:00Z", "title", "Kept")}}, http.StatusOK, &act)
		a.JSON(t, "PATCH", item, map[string]any{"overrides": []any{}}, http.StatusOK, &act)
		if len(act.Overrides) != 0 {
			t.Errorf("an empty list did not clear the overrides: %+v", act.Overrides)
		}
	})
}

// TestTaskActualDates walks a task through its statuses: the status stamps
// and clears the actual dates, a sent value wins, null clears one and an
// absent field keeps it.
func TestTaskActualDates(t *testing.T) {
	const set = "(set)" // any value
	steps := []struct {
		name       string
		body       string
		status     int
		start, end string // "" for null, set for any value, else exactly
		errs       map[string]string
	}{
		{"in progress stamps the start", `{"status":"in_progress"}`, 200, set, "", nil},
		{"a value sent wins", `{"actual_start":"2026-03-10T11:00:00Z"}`, 200, "2026-03-10T11:00:00Z", "", nil},
		{"completed stamps the end", `{"status":"completed"}`, 200, "2026-03-10T11:00:00Z", set, nil},
		{"absent keeps both", `{"title":"Write the offer (v2)"}`, 200, "2026-03-10T11:00:00Z", set, nil},
		{"the end before the start", `{"actual_end":"2026-03-09T11:00:00Z"}`, 400, "", "", map[string]string{"actual_end": "end_before_start"}},
		{"not a date", `{"actual_start":"soon"}`, 400, "", "", map[string]string{"actual_start": "invalid_date"}},
		{"not a string", `{"actual_start":5}`, 400, "", "", map[string]string{"actual_start": "wrong_type"}},
		{"both sent", `{"actual_start":"2026-03-10T08:00:00Z","actual_end":"2026-03-12T17:00:00Z"}`, 200,
			"2026-03-10T08:00:00Z", "2026-03-12T17:00:00Z", nil},
		{"cancelled keeps them; null clears the end", `{"status":"cancelled","actual_end":null}`, 200, "2026-03-10T08:00:00Z", "", nil},
		{"null clears the start", `{"actual_start":null}`, 200, "", "", nil},
		{"reopened and started again", `{"status":"ready_for_review"}`, 200, set, "", nil},
		{"not started clears them", `{"status":"not_started","actual_start":"2026-03-10T08:00:00Z"}`, 200, "", "", nil},
	}
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		var task activityJSON
		a.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Write the offer", "type": "task",
			"start": "2026-03-09T09:00:00Z", "end": "2026-03-12T18:00:00Z"}, http.StatusCreated, &task)
		if task.ActualStart != nil || task.ActualEnd != nil {
			t.Fatalf("a new task has actual dates %v %v", task.ActualStart, task.ActualEnd)
		}
		item := "/api/v1/activities/" + task.ID
		for _, st := range steps {
			r := a.Do(t, "PATCH", item, st.body)
			if r.Status != st.status {
				t.Fatalf("%s: status %d, want %d: %s", st.name, r.Status, st.status, r.Body)
			}
			if st.errs != nil {
				if got := decodeProblem(t, r).fields(); !maps.Equal(got, st.errs) {
					t.Errorf("%s: errors %v, want %v", st.name, got, st.errs)
				}
				continue
			}
			var got activityJSON
			a.JSON(t, "GET", item, nil, http.StatusOK, &got)
			check := func(what string, v *string, want string) {
				switch {
				case want == "" && v != nil:
					t.Errorf("%s: %s %q, want null", st.name, what, *v)
				case want == set && v == nil:
					t.Errorf("%s: %s null, want a time", st.name, what)
				case want == set:
					if _, err := time.Parse(time.RFC3339, *v); err != nil {
						t.Errorf("%s: %s %q: %v", st.name, what, *v, err)
					}
				case want != "" && (v == nil || *v != want):
					t.Errorf("%s: %s %v, want %q", st.name, what, v, want)
				}
			}
			check("actual_start", got.ActualStart, st.start)
			check("actual_end", got.ActualEnd, st.end)
		}

		// All-day tasks give their actual dates as dates, like start and end.
		var day activityJSON
		a.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Inventory", "type": "task", "all_day": true,
			"start": "2026-03-09", "status": "completed", "actual_start": "2026-03-10T22:00:00Z",
			"actual_end": "2026-03-11"}, http.StatusCreated, &day)
		if day.ActualStart == nil || *day.ActualStart != "2026-03-10" || day.ActualEnd == nil || *day.ActualEnd != "2026-03-11" {
			t.Errorf("all-day actual dates %v %v", day.ActualStart, day.ActualEnd)
		}
		// Other types keep what they are given, whatever the status.
		var meeting activityJSON
		a.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Kick-off", "type": "meeting",
			"start": "2026-03-09T09:00:00Z", "status": "in_progress"}, http.StatusCreated, &meeting)
		if meeting.ActualStart != nil {
			t.Errorf("a meeting got an actual start %q", *meeting.ActualStart)
		}
	})
}
