//go:build chromium

package dashboard

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDashboardScreenshot renders the dashboard with sample data in headless
// Chromium and checks that the screenshot is a real picture of a page, not a
// blank or error screen. Run it with validator/dashboard/screenshot.sh (or
// `go test -tags chromium -run TestDashboardScreenshot ./validator/dashboard/`);
// MERIT_SCREENSHOT keeps the PNG, CHROMIUM names the browser binary.
func TestDashboardScreenshot(t *testing.T) {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Fatal("no Chromium found: apt-get install -y chromium, or set CHROMIUM=/path/to/browser")
	}
	data := sampleData()
	srv := httptest.NewServer(Handler(func() Data { return data }))
	defer srv.Close()

	out := os.Getenv("MERIT_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "dashboard.png")
	}
	out, _ = filepath.Abs(out)
	_ = os.Remove(out)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--screenshot="+out, "--window-size=1280,900", srv.URL+"/")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, log.String())
	}
	bz, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, log.String())
	}
	if len(bz) < 20_000 {
		t.Fatalf("screenshot is only %d bytes", len(bz))
	}
	img, err := png.Decode(bytes.NewReader(bz))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Fatalf("size %v", b)
	}
	// A rendered page has text, table borders and coloured plot lines: many
	// colours, and a good share of non-background pixels.
	colours, ink := countColours(img)
	if colours < 50 || ink < 0.02 {
		t.Fatalf("screenshot looks blank: %d colours, %.1f%% non-background", colours, 100*ink)
	}
	t.Logf("screenshot %s: %d bytes, %d colours, %.1f%% ink", out, len(bz), colours, 100*ink)
}

func countColours(img image.Image) (int, float64) {
	b := img.Bounds()
	seen := map[uint32]bool{}
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgc, bb, _ := bg.RGBA()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			if r != br || g != bgc || bl != bb {
				ink++
			}
		}
	}
	return len(seen), float64(ink) / float64((b.Dx()/2)*(b.Dy()/2))
}
