package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progressMin is the input size from which the progress bar shows in auto
// mode: smaller inputs finish before a bar would be read.
const progressMin = 16 << 20

// progress draws one line on stderr while reports are read: the current
// file, bytes read and, when sizes are known, a bar and a percentage. One
// goroutine redraws it four times a second; done stops it.
type progress struct {
	w     io.Writer
	on    bool
	total int64
	read  atomic.Int64
	name  atomic.Value
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	drawn bool
	start time.Time
}

func (m *Main) newProgress(stderr io.Writer, f triageFlags, inputs []input) *progress {
	p := &progress{w: stderr, start: time.Now()}
	known := true
	for _, in := range inputs {
		if in.size < 0 {
			known = false
			continue
		}
		p.total += in.size
	}
	if !known {
		p.total = 0
	}
	switch f.progress {
	case "always":
		p.on = true
	case "never":
	default:
		p.on = !f.quiet && m.IsTerminal(stderr) && (p.total >= progressMin || !known)
	}
	p.name.Store("")
	if p.on {
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	read := p.read.Load()
	name, _ := p.name.Load().(string)
	if len(name) > 40 {
		name = "…" + name[len(name)-39:]
	}
	rate := float64(read) / time.Since(p.start).Seconds() / (1 << 20)
	if p.total > 0 {
		frac := float64(read) / float64(p.total)
		if frac > 1 {
			frac = 1
		}
		const width = 24
		n := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			if i < n {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		fmt.Fprintf(p.w, "\r\x1b[Kreading [%s] %3.0f%% %s/%s %.0f MB/s %s", bar, frac*100, mb(read), mb(p.total), rate, name)
	} else {
		fmt.Fprintf(p.w, "\r\x1b[Kreading %s %.0f MB/s %s", mb(read), rate, name)
	}
	p.drawn = true
}

// clear erases the bar so that a message can be printed on its line.
func (p *progress) clear() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *progress) done() {
	if !p.on {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.clear()
}

func (p *progress) wrap(name string, r io.Reader) io.Reader {
	if !p.on {
		return r
	}
	p.name.Store(name)
	return &countingReader{r: r, n: &p.read}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func mb(n int64) string {
	return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
}
