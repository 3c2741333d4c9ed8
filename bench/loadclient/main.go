// Command loadclient is the fan-out bench's compiled subscriber process: N websocket connections,
// each receiving every frame, so that the load generator is not what limits `make bench`.
//
// It speaks the same line protocol as bench/ws_clients.py (and takes the same flags): prints
// "ready <connected> <seconds>" once every connection is set up, records the delivery latency of
// every frame whose data carries "t" (the producer's wall time, seconds); on a "report" line on
// stdin prints one JSON line of the counts and latencies (milliseconds) since the last report and
// goes on, on any other line (or after -max-seconds) prints it and exits. The stamp is found by a
// byte search, not a JSON decode, so a client costs little CPU per frame.
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

type stamp struct {
	T float64 `json:"t"`
}

// shard holds one reader's latencies until the next report takes them.
type shard struct {
	mu        sync.Mutex
	latencies []float64
}

func (s *shard) add(v float64) {
	s.mu.Lock()
	s.latencies = append(s.latencies, v)
	s.mu.Unlock()
}

func (s *shard) take() []float64 {
	s.mu.Lock()
	out := s.latencies
	s.latencies = make([]float64, 0, len(out))
	s.mu.Unlock()
	return out
}

var (
	stampKeys = [][]byte{[]byte(`\"t\":`), []byte(`"t":`)}
)

// sentAt finds the "t" stamp (seconds) in a frame: inside the data string (escaped) or as a plain
// key; 0 when there is none.
func sentAt(message []byte) float64 {
	for _, key := range stampKeys {
		i := bytes.Index(message, key)
		if i < 0 {
			continue
		}
		j := i + len(key)
		for j < len(message) && message[j] == ' ' {
			j++
		}
		k := j
		for k < len(message) && strings.IndexByte("0123456789.eE+-", message[k]) >= 0 {
			k++
		}
		if v, err := strconv.ParseFloat(string(message[j:k]), 64); err == nil {
			return v
		}
	}
	var f frame
	if json.Unmarshal(message, &f) != nil {
		return 0
	}
	var st stamp
	if json.Unmarshal([]byte(dataString(f.Data)), &st) != nil {
		return 0
	}
	return st.T
}

var (
	frames     atomic.Int64
	closed     atomic.Int64
	errorsSeen atomic.Int64
	lastFrame  atomic.Int64 // unix nanoseconds
	mu         sync.Mutex   // closeCodes and shards
	closeCodes = map[string]int{}
	shards     []*shard
	stopping   atomic.Bool // set before the final close: what ends after it is no early close
)

func auth(key, secret, socketID, channel string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(socketID + ":" + channel))
	return key + ":" + hex.EncodeToString(mac.Sum(nil))
}

// dataString returns a frame's data as text: Pusher sends it as a JSON string.
func dataString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

func openOne(url, mode, channel, key, secret string) (*websocket.Conn, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 60 * time.Second}
	ws, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	if mode != "pusher" {
		return ws, nil
	}
	ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	var hello frame
	if err := ws.ReadJSON(&hello); err != nil || hello.Event != "pusher:connection_established" {
		ws.Close()
		return nil, fmt.Errorf("no connection_established: %v %s", err, hello.Event)
	}
	var established struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal([]byte(dataString(hello.Data)), &established); err != nil {
		ws.Close()
		return nil, err
	}
	subscribe := map[string]any{
		"event": "pusher:subscribe",
		"data":  map[string]string{"channel": channel, "auth": auth(key, secret, established.SocketID, channel)},
	}
	if err := ws.WriteJSON(subscribe); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		var f frame
		if err := ws.ReadJSON(&f); err != nil {
			ws.Close()
			return nil, err
		}
		if f.Event == "pusher_internal:subscription_succeeded" {
			break
		}
		if f.Event == "pusher:error" || f.Event == "pusher:subscription_error" {
			ws.Close()
			return nil, fmt.Errorf("subscribe refused: %s", f.Data)
		}
	}
	ws.SetReadDeadline(time.Time{})
	return ws, nil
}

func reader(ws *websocket.Conn, sh *shard) {
	for {
		_, message, err := ws.ReadMessage()
		now := time.Now()
		if err != nil {
			if stopping.Load() {
				return
			}
			code := "None"
			if ce, ok := err.(*websocket.CloseError); ok {
				code = strconv.Itoa(ce.Code)
			} else {
				errorsSeen.Add(1)
			}
			closed.Add(1)
			mu.Lock()
			closeCodes[code]++
			mu.Unlock()
			return
		}
		frames.Add(1)
		lastFrame.Store(now.UnixNano())
		if t := sentAt(message); t > 0 {
			sent := time.Unix(0, int64(t*1e9))
			sh.add(float64(now.Sub(sent).Microseconds()) / 1000)
		}
	}
}

// report prints the counts and latencies since the last report (the frame and close counters
// are cumulative; latencies are taken and reset).
func report(connected, failed int) {
	mu.Lock()
	var latencies []float64
	for _, sh := range shards {
		latencies = append(latencies, sh.take()...)
	}
	codes := map[string]int{}
	for k, v := range closeCodes {
		codes[k] = v
	}
	mu.Unlock()
	step := len(latencies)/20000 + 1
	sampled := make([]float64, 0, len(latencies)/step+1)
	maxLatency := 0.0
	for i, v := range latencies {
		if v > maxLatency {
			maxLatency = v
		}
		if i%step == 0 {
			sampled = append(sampled, v)
		}
	}
	result := map[string]any{
		"connected":      connected,
		"failed":         failed,
		"frames":         frames.Load(),
		"last_frame_at":  float64(lastFrame.Load()) / 1e9,
		"closed_early":   closed.Load(),
		"close_codes":    codes,
		"latencies_ms":   sampled,
		"latency_count":  len(latencies),
		"latency_max_ms": nil,
	}
	if len(latencies) > 0 {
		result["latency_max_ms"] = maxLatency
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

func main() {
	url := flag.String("url", "", "websocket URL")
	n := flag.Int("n", 0, "connections")
	mode := flag.String("mode", "pusher", "pusher|raw")
	channel := flag.String("channel", "private-bench", "channel to subscribe")
	key := flag.String("key", "", "app key")
	secret := flag.String("secret", "", "app secret")
	concurrency := flag.Int("concurrency", 200, "connections being opened at once")
	maxSeconds := flag.Float64("max-seconds", 600, "exit after this long without a stop line")
	flag.Parse()

	began := time.Now()
	conns := make([]*websocket.Conn, 0, *n)
	var failed int
	var wg sync.WaitGroup
	sem := make(chan struct{}, *concurrency)
	var lock sync.Mutex
	// Each connection is read from as soon as it is set up: a server's websocket pings sent while
	// the others are still connecting get their pongs (gorilla answers them inside ReadMessage).
	var readers sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, err := openOne(*url, *mode, *channel, *key, *secret)
			lock.Lock()
			defer lock.Unlock()
			if err != nil {
				failed++
				if failed <= 3 {
					fmt.Fprintf(os.Stderr, "connect failed: %v\n", err)
				}
				return
			}
			conns = append(conns, ws)
			sh := &shard{}
			mu.Lock()
			shards = append(shards, sh)
			mu.Unlock()
			readers.Add(1)
			go func() { defer readers.Done(); reader(ws, sh) }()
		}()
	}
	wg.Wait()
	fmt.Printf("ready %d %.2f\n", len(conns), time.Since(began).Seconds())

	lines := make(chan string)
	go func() {
		in := bufio.NewReader(os.Stdin)
		for {
			line, err := in.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimSpace(line)
		}
	}()
	deadline := time.After(time.Duration(*maxSeconds * float64(time.Second)))
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if ok && line == "report" {
				report(len(conns), failed)
				continue
			}
			done = true
		case <-deadline:
			done = true
		}
	}
	stopping.Store(true)
	for _, ws := range conns {
		ws.Close() // readers end
	}
	readers.Wait()
	report(len(conns), failed)
}
