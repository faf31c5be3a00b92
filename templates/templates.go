// Package templates holds the hosted login UI: html/template pages that
// share one base layout, and static assets (CSS, JS) served from /login/static/.
//
// Each page file NAME.html defines a "title" and a "content" template;
// base.html wraps them. Pages are found by globbing, so a factor that adds
// its own page (for example face.html plus static/face.js) needs no change
// here. Nothing is loaded from outside the binary and pages reference no
// external assets.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.html static
var files embed.FS

// Set is the parsed pages.
type Set struct {
	pages map[string]*template.Template
}

// Load parses every page with the base layout.
func Load() (*Set, error) {
	base, err := template.New("base.html").ParseFS(files, "base.html")
	if err != nil {
		return nil, fmt.Errorf("templates: parse base layout: %w", err)
	}
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: list pages: %w", err)
	}
	s := &Set{pages: make(map[string]*template.Template)}
	for _, name := range names {
		if name == "base.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, name)
		if err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", name, err)
		}
		s.pages[strings.TrimSuffix(name, ".html")] = t
	}
	return s, nil
}

// Has reports whether a page exists.
func (s *Set) Has(page string) bool { _, ok := s.pages[page]; return ok }

// Render executes page with data into w. The page is rendered into a
// buffer first so a template error never leaves half a page behind.
func (s *Set) Render(w io.Writer, page string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("templates: no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base.html", data); err != nil {
		return fmt.Errorf("templates: render %s: %w", page, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Static serves the static assets; mount it with http.StripPrefix so that
// a request for "style.css" finds static/style.css.
func Static() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	fileServer := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || path.Base(r.URL.Path) == "." {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}
