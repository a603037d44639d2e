package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/store"
)

// linkOwner marks attachments that anyone holding the link may download.
const linkOwner bot.PersonID = "_link"

// PublicFiles serves attachments behind unguessable links (a 144-bit random ID) for
// channels that can only show a URL, like LINE, whose users have no web session.
type PublicFiles struct {
	Store *store.Web
	// BaseURL is KAKEHASHI_PUBLIC_URL (e.g. https://kakehashi.example.lg.jp); links are absolute.
	BaseURL string
}

// Register mounts GET /files/{tenant}/{id}.
func (f *PublicFiles) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /files/{tenant}/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, err := f.Store.Attachment(r.Context(), bot.TenantID(r.PathValue("tenant")), linkOwner, r.PathValue("id"))
		if err != nil {
			status := http.StatusNotFound
			if bot.ErrorCode(err) == bot.EUNAVAILABLE {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		w.Header().Set("Content-Type", a.ContentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "private, max-age=3600")
		if !strings.HasPrefix(a.ContentType, "image/") {
			w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(a.Name)+`"`)
		}
		w.Write(a.Data)
	})
}

// Link stores an attachment and returns its absolute link.
func (f *PublicFiles) Link(ctx context.Context, t bot.TenantID, a bot.Attachment) (string, error) {
	id, err := f.Store.PutAttachment(ctx, t, linkOwner, a)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(f.BaseURL, "/") + "/files/" + string(t) + "/" + id, nil
}

// WithLinks wraps a Sender so attachments that carry data but no URL get a link first.
func WithLinks(s bot.Sender, f *PublicFiles) bot.Sender {
	return bot.SenderFunc(func(ctx context.Context, d bot.Delivery) error {
		replies := make([]bot.Reply, len(d.Replies))
		for i, r := range d.Replies {
			r.Attachments = append([]bot.Attachment(nil), r.Attachments...)
			for j := range r.Attachments {
				a := &r.Attachments[j]
				if a.URL == "" && len(a.Data) > 0 {
					u, err := f.Link(ctx, d.Tenant, *a)
					if err != nil {
						return err
					}
					a.URL = u
				}
			}
			replies[i] = r
		}
		d.Replies = replies
		return s.Send(ctx, d)
	})
}
