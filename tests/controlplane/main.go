// Command controlplane runs a throwaway Kubernetes control plane on loopback
// for supaplane's integration tests, the way controller-runtime's envtest
// does: etcd, kube-apiserver (RBAC, audit log, default admission plugins)
// and kube-controller-manager with only the controllers the tests rely on
// (garbage collector, namespace, PVC protection, resource quota, service
// accounts). There are no workload controllers and no kubelet: the tests
// write Deployment and StatefulSet status themselves, and one Node's
// container logs are served from files (nodelogs.go).
//
// It prints one JSON line on stdout once the API server is ready, then runs
// until its standard input closes (the test process that started it ended)
// or it is signalled, and stops everything it started.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// auditPolicy records every request but the control plane's own, at the
// Metadata level: who asked, which verb on which object, and the answer.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:apiserver", "system:kube-controller-manager"]
- level: None
  userGroups: ["system:serviceaccounts:kube-system"]
- level: Metadata
`

// ready is what the harness reads from the first line of stdout.
type ready struct {
	Kubeconfig string `json:"kubeconfig"`
	AuditLog   string `json:"auditLog"`
	Server     string `json:"server"`
	Directory  string `json:"directory"`
	// The Node whose pods' logs are served from PodLogs.
	Node    string `json:"node"`
	PodLogs string `json:"podLogs"`
}

func main() {
	binDir := flag.String("bin-dir", "", "directory holding etcd, kube-apiserver and kube-controller-manager")
	dir := flag.String("dir", "", "working directory (certificates, etcd data, logs); created if missing")
	keep := flag.Bool("keep", false, "keep the working directory on exit")
	crds := flag.String("crds", "", "directory of CustomResourceDefinition YAML files to install before the controllers start")
	flag.Parse()
	if *binDir == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: controlplane -bin-dir DIR -dir DIR")
		os.Exit(2)
	}
	plane := &controlPlane{binDir: *binDir, dir: *dir, crds: *crds}
	err := plane.start()
	if err == nil {
		plane.waitForEnd()
	}
	plane.stop()
	if !*keep && err == nil {
		os.RemoveAll(*dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

type controlPlane struct {
	binDir, dir, crds string
	processes         []*exec.Cmd
	exited            chan string
	// What restarting kube-apiserver needs (the fault tests stop it).
	apiserverArgs []string
	admin         *http.Client
	server        string
}

func (p *controlPlane) path(name string) string { return filepath.Join(p.dir, name) }

func (p *controlPlane) start() error {
	p.exited = make(chan string, 4)
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	pki, err := writePKI(p.dir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	server := fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	if err := p.run("etcd",
		"--name=default",
		"--data-dir="+p.path("etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		// Throwaway data: skipping fsync is what makes etcd fast on a laptop.
		"--unsafe-no-fsync",
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	); err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := p.waitHealthy(plain, etcdURL+"/health", 60*time.Second); err != nil {
		return fmt.Errorf("etcd: %w", err)
	}

	if err := os.WriteFile(p.path("audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	p.apiserverArgs = []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No kubernetes Service endpoints to keep: loopback is fine then.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--tls-cert-file=" + pki.serverCert,
		"--tls-private-key-file=" + pki.serverKey,
		"--client-ca-file=" + pki.caCert,
		"--service-account-key-file=" + pki.serviceAccountPublic,
		"--service-account-signing-key-file=" + pki.serviceAccountKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		// As kubeadm: room for a million Services (a /16 runs out before
		// 10,000 projects of seven Services each).
		"--service-cluster-ip-range=10.96.0.0/12",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--audit-policy-file=" + p.path("audit-policy.yaml"),
		"--audit-log-path=" + p.path("audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--audit-log-maxbackup=0",
		"--audit-log-maxsize=0",
		"--profiling=false",
		"--cert-dir=" + p.path("apiserver"),
		// pods/log goes to the node's kubelet: here the stand-in of nodelogs.go.
		"--kubelet-certificate-authority=" + pki.caCert,
		"--kubelet-client-certificate=" + pki.kubeletClientCert,
		"--kubelet-client-key=" + pki.kubeletClientKey,
		"--kubelet-preferred-address-types=InternalIP",
	}
	if err := p.run("kube-apiserver", p.apiserverArgs...); err != nil {
		return err
	}
	admin, err := tlsClient(pki, pki.adminCert, pki.adminKey)
	if err != nil {
		return err
	}
	p.admin, p.server = admin, server
	if err := p.waitHealthy(admin, server+"/readyz", 120*time.Second); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}

	if err := p.serveNodeLogs(pki, ports[3]); err != nil {
		return fmt.Errorf("node logs: %w", err)
	}
	if err := registerNode(admin, server, ports[3]); err != nil {
		return fmt.Errorf("node: %w", err)
	}

	// CRDs go in before kube-controller-manager starts, as on a cluster
	// where they were installed earlier: its garbage collector and namespace
	// controller rediscover resources only every 30 s.
	if p.crds != "" {
		if err := installCRDs(admin, server, p.crds); err != nil {
			return fmt.Errorf("installing CRDs: %w", err)
		}
	}

	kubeconfig := p.path("admin.kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, pki, pki.adminCert, pki.adminKey); err != nil {
		return err
	}
	controllerKubeconfig := p.path("kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(controllerKubeconfig, server, pki, pki.controllerCert, pki.controllerKey); err != nil {
		return err
	}
	if err := p.run("kube-controller-manager",
		"--kubeconfig="+controllerKubeconfig,
		"--controllers=garbage-collector-controller,namespace-controller,persistentvolumeclaim-protection-controller,resourcequota-controller,serviceaccount-controller",
		"--leader-elect=false",
		"--secure-port=0",
		// Each controller acts as its own service account, with the RBAC the
		// API server bootstraps for it, as kubeadm runs them.
		"--use-service-account-credentials=true",
		"--root-ca-file="+pki.caCert,
		// Namespace deletion and garbage collection talk to the API a lot;
		// the default client limit (20/s) makes a test wait on a throttle,
		// not on the server.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
	); err != nil {
		return err
	}

	line, err := json.Marshal(ready{Kubeconfig: kubeconfig, AuditLog: p.path("audit.log"), Server: server, Directory: p.dir, Node: nodeName, PodLogs: p.podLogsDir()})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

// run starts one binary of the control plane with its output in a log file;
// it dies with this process (Pdeathsig) whatever happens here.
func (p *controlPlane) run(name string, args ...string) error {
	// Appended to: a restarted kube-apiserver keeps its earlier log.
	logFile, err := os.OpenFile(p.path(name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(p.binDir, name), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p.processes = append(p.processes, cmd)
	go func() {
		cmd.Wait()
		logFile.Close()
		p.exited <- name
	}()
	return nil
}

// waitHealthy polls url until it answers 200, failing early if a process
// of the control plane exits, with the end of its log.
func (p *controlPlane) waitHealthy(client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case name := <-p.exited:
			return fmt.Errorf("%s exited while starting:\n%s", name, tail(p.path(name+".log"), 40))
		default:
		}
		response, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, response.Body)
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %s", url, timeout)
}

// waitForEnd returns when stdin closes, a signal arrives or a process of
// the control plane exits unasked (which the next request of a test would
// show). Meanwhile it obeys the commands of the fault tests, one per line
// on stdin, answering each with a JSON line on stdout:
// `stop kube-apiserver` (it is gone when answered) and
// `start kube-apiserver` (it is ready when answered).
func (p *controlPlane) waitForEnd() {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	commands := make(chan string)
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			commands <- strings.TrimSpace(scanner.Text())
		}
		close(commands)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case command, open := <-commands:
			if !open {
				return
			}
			p.obey(command)
		case name := <-p.exited:
			fmt.Fprintf(os.Stderr, "controlplane: %s exited:\n%s\n", name, tail(p.path(name+".log"), 40))
			return
		}
	}
}

func (p *controlPlane) obey(command string) {
	answer := map[string]string{"command": command}
	switch command {
	case "stop kube-apiserver":
		for _, cmd := range p.processes {
			if filepath.Base(cmd.Path) == "kube-apiserver" && cmd.ProcessState == nil {
				cmd.Process.Signal(syscall.SIGTERM)
				if name := <-p.exited; name != "kube-apiserver" {
					answer["error"] = name + " exited instead"
				}
			}
		}
	case "start kube-apiserver":
		if err := p.run("kube-apiserver", p.apiserverArgs...); err != nil {
			answer["error"] = err.Error()
		} else if err := p.waitHealthy(p.admin, p.server+"/readyz", 120*time.Second); err != nil {
			answer["error"] = err.Error()
		}
	default:
		answer["error"] = "unknown command"
	}
	line, _ := json.Marshal(answer)
	fmt.Println(string(line))
}

func (p *controlPlane) stop() {
	for i := len(p.processes) - 1; i >= 0; i-- {
		cmd := p.processes[i]
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, cmd := range p.processes {
		for cmd.ProcessState == nil && time.Now().Before(deadline) {
			if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
	}
}

// installCRDs creates every CRD of the YAML files in dir and waits until
// each is established.
func installCRDs(client *http.Client, server, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	const collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		body, err := yaml.YAMLToJSON(text)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		var crd struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(body, &crd); err != nil || crd.Metadata.Name == "" {
			return fmt.Errorf("%s: not a CRD", file)
		}
		response, err := client.Post(server+collection, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(response.Body)
		response.Body.Close()
		if response.StatusCode != http.StatusCreated {
			return fmt.Errorf("%s: %s: %s", file, response.Status, answer)
		}
		if err := waitEstablished(client, server+collection+"/"+crd.Metadata.Name); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(client *http.Client, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		response, err := client.Get(url)
		if err == nil {
			var crd struct {
				Status struct {
					Conditions []struct {
						Type   string `json:"type"`
						Status string `json:"status"`
					} `json:"conditions"`
				} `json:"status"`
			}
			decodeErr := json.NewDecoder(response.Body).Decode(&crd)
			response.Body.Close()
			for _, condition := range crd.Status.Conditions {
				if decodeErr == nil && condition.Type == "Established" && condition.Status == "True" {
					return nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not established", url)
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// pki names the files of the control plane's certificates and keys.
type pki struct {
	caCert, serverCert, serverKey                      string
	adminCert, adminKey, controllerCert, controllerKey string
	serviceAccountKey, serviceAccountPublic            string
	kubeletCert, kubeletKey                            string
	kubeletClientCert, kubeletClientKey                string
}

func writePKI(dir string) (*pki, error) {
	files := &pki{
		caCert:               filepath.Join(dir, "ca.crt"),
		serverCert:           filepath.Join(dir, "apiserver.crt"),
		serverKey:            filepath.Join(dir, "apiserver.key"),
		adminCert:            filepath.Join(dir, "admin.crt"),
		adminKey:             filepath.Join(dir, "admin.key"),
		controllerCert:       filepath.Join(dir, "kube-controller-manager.crt"),
		controllerKey:        filepath.Join(dir, "kube-controller-manager.key"),
		serviceAccountKey:    filepath.Join(dir, "sa.key"),
		serviceAccountPublic: filepath.Join(dir, "sa.pub"),
		kubeletCert:          filepath.Join(dir, "kubelet.crt"),
		kubeletKey:           filepath.Join(dir, "kubelet.key"),
		kubeletClientCert:    filepath.Join(dir, "apiserver-kubelet-client.crt"),
		kubeletClientKey:     filepath.Join(dir, "apiserver-kubelet-client.key"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "supaplane-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	if err := writePEM(files.caCert, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	issue := func(certPath, keyPath string, subject pkix.Name, server bool, serial int64) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		template := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      subject,
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if server {
			template.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			template.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
			template.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
		}
		der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		return writePEM(keyPath, "PRIVATE KEY", keyDER)
	}
	if err := issue(files.serverCert, files.serverKey, pkix.Name{CommonName: "kube-apiserver"}, true, 2); err != nil {
		return nil, err
	}
	if err := issue(files.adminCert, files.adminKey, pkix.Name{CommonName: "supaplane-test-admin", Organization: []string{"system:masters"}}, false, 3); err != nil {
		return nil, err
	}
	if err := issue(files.controllerCert, files.controllerKey, pkix.Name{CommonName: "system:kube-controller-manager"}, false, 4); err != nil {
		return nil, err
	}
	if err := issue(files.kubeletCert, files.kubeletKey, pkix.Name{CommonName: nodeName}, true, 5); err != nil {
		return nil, err
	}
	if err := issue(files.kubeletClientCert, files.kubeletClientKey, pkix.Name{CommonName: "kube-apiserver-kubelet-client"}, false, 6); err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saKeyDER, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(files.serviceAccountKey, "PRIVATE KEY", saKeyDER); err != nil {
		return nil, err
	}
	saPublicDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(files.serviceAccountPublic, "PUBLIC KEY", saPublicDER); err != nil {
		return nil, err
	}
	return files, nil
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func tlsClient(files *pki, certPath, keyPath string) (*http.Client, error) {
	certificate, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(files.caCert)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no CA certificate")
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      roots,
			Certificates: []tls.Certificate{certificate},
		}},
	}, nil
}

func writeKubeconfig(path, server string, files *pki, certPath, keyPath string) error {
	read := func(p string) (string, error) {
		data, err := os.ReadFile(p)
		return base64.StdEncoding.EncodeToString(data), err
	}
	ca, err := read(files.caCert)
	if err != nil {
		return err
	}
	cert, err := read(certPath)
	if err != nil {
		return err
	}
	key, err := read(keyPath)
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: test
  context:
    cluster: test
    user: test
    namespace: default
current-context: test
users:
- name: test
  user:
    client-certificate-data: %s
    client-key-data: %s
`, server, ca, cert, key)
	return os.WriteFile(path, []byte(config), 0o600)
}
