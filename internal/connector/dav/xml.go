package dav

import (
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
)

// The parts of a 207 Multi-Status answer the client reads. One struct
// covers every PROPFIND and REPORT it sends: absent properties stay empty.
// go-webdav's own types are in an internal package, hence these.
type multistatus struct {
	XMLName   xml.Name   `xml:"DAV: multistatus"`
	Responses []response `xml:"DAV: response"`
	SyncToken string     `xml:"DAV: sync-token"`
	// final is the URL that answered, after redirects: relative hrefs
	// are relative to it.
	final *url.URL
}

// resolve makes href absolute against the URL that answered.
func (ms *multistatus) resolve(href string) string {
	if ms.final == nil {
		return href
	}
	u, err := ms.final.Parse(href)
	if err != nil {
		return href
	}
	return u.String()
}

type response struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	PropStats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   prop   `xml:"DAV: prop"`
}

type anyElem struct {
	XMLName xml.Name
}

type anyList struct {
	Items []anyElem `xml:",any"`
}

type hrefProp struct {
	Hrefs []string `xml:"DAV: href"`
}

type prop struct {
	ETag                 string     `xml:"DAV: getetag"`
	DisplayName          string     `xml:"DAV: displayname"`
	ResourceType         anyList    `xml:"DAV: resourcetype"`
	SyncToken            string     `xml:"DAV: sync-token"`
	CTag                 string     `xml:"http://calendarserver.org/ns/ getctag"`
	CurrentUserPrincipal hrefProp   `xml:"DAV: current-user-principal"`
	AddressBookHomeSet   hrefProp   `xml:"urn:ietf:params:xml:ns:carddav addressbook-home-set"`
	CalendarHomeSet      hrefProp   `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	Components           []compElem `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set>comp"`
	Reports              []anyList  `xml:"DAV: supported-report-set>supported-report>report"`
	AddressData          string     `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	CalendarData         string     `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
}

type compElem struct {
	Name string `xml:"name,attr"`
}

// statusCode reads "HTTP/1.1 404 Not Found"; 0 when absent or garbled.
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// okProp merges the properties of the 2xx propstats of r.
func (r *response) okProp() (p prop, ok bool) {
	for _, ps := range r.PropStats {
		if c := statusCode(ps.Status); c < 200 || c > 299 {
			continue
		}
		ok = true
		q := ps.Prop
		if q.ETag != "" {
			p.ETag = q.ETag
		}
		if q.DisplayName != "" {
			p.DisplayName = q.DisplayName
		}
		p.ResourceType.Items = append(p.ResourceType.Items, q.ResourceType.Items...)
		if q.SyncToken != "" {
			p.SyncToken = q.SyncToken
		}
		if q.CTag != "" {
			p.CTag = q.CTag
		}
		p.CurrentUserPrincipal.Hrefs = append(p.CurrentUserPrincipal.Hrefs, q.CurrentUserPrincipal.Hrefs...)
		p.AddressBookHomeSet.Hrefs = append(p.AddressBookHomeSet.Hrefs, q.AddressBookHomeSet.Hrefs...)
		p.CalendarHomeSet.Hrefs = append(p.CalendarHomeSet.Hrefs, q.CalendarHomeSet.Hrefs...)
		p.Components = append(p.Components, q.Components...)
		p.Reports = append(p.Reports, q.Reports...)
		if q.AddressData != "" {
			p.AddressData = q.AddressData
		}
		if q.CalendarData != "" {
			p.CalendarData = q.CalendarData
		}
	}
	return p, ok
}

func (p *prop) hasType(space, local string) bool {
	for _, e := range p.ResourceType.Items {
		if e.XMLName.Space == space && e.XMLName.Local == local {
			return true
		}
	}
	return false
}

func (p *prop) hasReport(space, local string) bool {
	for _, r := range p.Reports {
		for _, e := range r.Items {
			if e.XMLName.Space == space && e.XMLName.Local == local {
				return true
			}
		}
	}
	return false
}

const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
)

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
