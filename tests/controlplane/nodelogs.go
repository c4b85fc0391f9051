package main

// A stand-in for the one part of a kubelet the tests need: container logs.
// There is no container runtime here, so no real kubelet can run. The
// API server serves `pods/log` by asking the pod's node's kubelet for
// `/containerLogs/{namespace}/{pod}/{container}`; this server answers that
// from files the tests write, `<dir>/pod-logs/<namespace>/<pod>/<container>.log`,
// one line per entry, each starting with its RFC 3339 time as the kubelet
// keeps them. It honours the kubelet's `sinceTime`, `timestamps`,
// `tailLines` and `limitBytes`, and requires the API server's kubelet
// client certificate.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nodeName is the Node the tests bind pods to, to have their logs served.
const nodeName = "supaplane-test-node"

func (p *controlPlane) podLogsDir() string { return p.path("pod-logs") }

// serveNodeLogs listens on port with the kubelet serving certificate and
// answers container logs; it runs until the process ends.
func (p *controlPlane) serveNodeLogs(files *pki, port int) error {
	certificate, err := tls.LoadX509KeyPair(files.kubeletCert, files.kubeletKey)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(files.caCert)
	if err != nil {
		return err
	}
	clients := x509.NewCertPool()
	if !clients.AppendCertsFromPEM(caPEM) {
		return errors.New("no CA certificate")
	}
	if err := os.MkdirAll(p.podLogsDir(), 0o700); err != nil {
		return err
	}
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           http.HandlerFunc(p.containerLogs),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{certificate},
			ClientCAs:    clients,
			ClientAuth:   tls.RequireAndVerifyClientCert,
		},
	}
	go server.ServeTLS(listener, "", "")
	return nil
}

func (p *controlPlane) containerLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) {
			http.NotFound(w, r)
			return
		}
	}
	data, err := os.ReadFile(filepath.Join(p.podLogsDir(), parts[0], parts[1], parts[2]+".log"))
	if err != nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is not available", parts[2], parts[1]), http.StatusNotFound)
		return
	}
	query := r.URL.Query()
	var since time.Time
	if text := query.Get("sinceTime"); text != "" {
		if since, err = time.Parse(time.RFC3339, text); err != nil {
			http.Error(w, "sinceTime: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	var lines []string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1024*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		stamp, message, found := strings.Cut(line, " ")
		if !found {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil || (!since.IsZero() && at.Before(since)) {
			continue
		}
		if query.Get("timestamps") == "true" {
			lines = append(lines, line)
		} else {
			lines = append(lines, message)
		}
	}
	if text := query.Get("tailLines"); text != "" {
		if n, err := strconv.Atoi(text); err == nil && n >= 0 && n < len(lines) {
			lines = lines[len(lines)-n:]
		}
	}
	body := []byte(strings.Join(lines, "\n"))
	if len(lines) > 0 {
		body = append(body, '\n')
	}
	if text := query.Get("limitBytes"); text != "" {
		if n, err := strconv.Atoi(text); err == nil && n >= 0 && n < len(body) {
			body = body[:n]
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(body)
}

// registerNode makes the Node whose kubelet this server stands in for:
// reachable at 127.0.0.1 on port, Ready.
func registerNode(client *http.Client, server string, port int) error {
	node := fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q}}`, nodeName)
	response, err := client.Post(server+"/api/v1/nodes", "application/json", strings.NewReader(node))
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusCreated {
		return fmt.Errorf("creating node: %s", response.Status)
	}
	status := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],`+
		`"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}},`+
		`"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"a stand-in serving container logs"}]}}`, port)
	request, err := http.NewRequest(http.MethodPatch, server+"/api/v1/nodes/"+nodeName+"/status", strings.NewReader(status))
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", "application/merge-patch+json")
	response, err = client.Do(request)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("setting node status: %s", response.Status)
	}
	return nil
}
