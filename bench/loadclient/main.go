// Command loadclient is the fan-out bench's compiled subscriber process: N websocket connections,
// each receiving every frame, so that the load generator is not what limits `make bench`.
//
// It speaks the same line protocol as bench/ws_clients.py (and takes the same flags): prints
// "ready <connected> <seconds>" once every connection is set up, records the delivery latency of
// every frame whose data carries "t" (the producer's wall time, seconds), and on a line on stdin
// (or after -max-seconds) prints one JSON line of counts and latencies (milliseconds) and exits.
package main

import (
	"bufio"
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

var (
	frames     atomic.Int64
	closed     atomic.Int64
	errorsSeen atomic.Int64
	lastFrame  atomic.Int64 // unix nanoseconds
	mu         sync.Mutex
	latencies  []float64
	closeCodes = map[string]int{}
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

func reader(ws *websocket.Conn) {
	local := make([]float64, 0, 1024)
	defer func() {
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	}()
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
		var f frame
		if json.Unmarshal(message, &f) != nil {
			continue
		}
		data := dataString(f.Data)
		if !strings.Contains(data, `"t"`) {
			continue
		}
		var s stamp
		if json.Unmarshal([]byte(data), &s) == nil && s.T > 0 {
			sent := time.Unix(0, int64(s.T*1e9))
			local = append(local, float64(now.Sub(sent).Microseconds())/1000)
		}
	}
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
		}()
	}
	wg.Wait()
	var readers sync.WaitGroup
	for _, ws := range conns {
		readers.Add(1)
		go func(ws *websocket.Conn) { defer readers.Done(); reader(ws) }(ws)
	}
	fmt.Printf("ready %d %.2f\n", len(conns), time.Since(began).Seconds())

	stop := make(chan struct{})
	go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(stop) }()
	select {
	case <-stop:
	case <-time.After(time.Duration(*maxSeconds * float64(time.Second))):
	}
	counted := frames.Load()
	last := float64(lastFrame.Load()) / 1e9
	stopping.Store(true)
	for _, ws := range conns {
		ws.Close() // readers end and hand over their latencies
	}
	readers.Wait()
	mu.Lock()
	defer mu.Unlock()
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
		"connected":      len(conns),
		"failed":         failed,
		"frames":         counted,
		"last_frame_at":  last,
		"closed_early":   closed.Load(),
		"close_codes":    closeCodes,
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
