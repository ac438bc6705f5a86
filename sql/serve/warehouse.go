package serve

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/permlake/permlake/sql/runner"
)

// warehouse hands out read-only DuckDB handles on the warehouse file and follows the model build,
// which publishes a new file by renaming it over the old path (sql/orgbuild, cmd/permlake
// buildModels). The build never opens the served file for writing, so the server holds no lock
// the build waits for; on Linux a rename over an open file leaves the open inode readable, so
// queries running on the old build finish on it while new ones open the new file.
type warehouse struct {
	path   string
	logger *slog.Logger

	openMu sync.Mutex // one open of a new file at a time
	mu     sync.Mutex // guards cur and every handle's refs and retired
	cur    *handle
	live   atomic.Int32 // handles open (the current one and replaced ones still in use)
}

// handle is one opened warehouse file: a DuckDB database with its own connection pool.
type handle struct {
	db   *sql.DB
	id   fileID
	lake string // the lake directory the warehouse was built from ("" when unknown or gone)

	refs    int  // queries using the handle (warehouse.mu)
	retired bool // a newer file replaced it: closed when refs drops to 0 (warehouse.mu)

	initMu sync.Mutex
	inited map[any]bool // driver connections whose src_* views exist (temporary, per connection)
}

// fileID tells one warehouse file from the next: the build's rename gives the path a new inode;
// size and mtime also catch a copy over the same inode.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

func statID(path string) (fileID, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(sys.Dev), sys.Ino
	}
	return id, nil
}

// acquire returns the handle on the warehouse file now at the path, opening it when the build
// replaced the file since the last query. The caller calls release when its query is done.
func (w *warehouse) acquire(ctx context.Context) (*handle, error) {
	id, serr := statID(w.path)
	w.mu.Lock()
	if h := w.cur; h != nil && (serr != nil || h.id == id) {
		// A stat error (the file briefly unreadable) keeps serving the open build.
		h.refs++
		w.mu.Unlock()
		return h, nil
	}
	w.mu.Unlock()
	if serr != nil {
		return nil, fmt.Errorf("warehouse %s: %w", w.path, serr)
	}
	w.openMu.Lock()
	defer w.openMu.Unlock()
	w.mu.Lock()
	if h := w.cur; h != nil && h.id == id { // another query opened it meanwhile
		h.refs++
		w.mu.Unlock()
		return h, nil
	}
	w.mu.Unlock()
	h, err := openHandle(ctx, w.path, id, w.logger)
	w.mu.Lock()
	if err != nil {
		defer w.mu.Unlock()
		if w.cur != nil {
			// A file that does not open (removed between stat and open) must not stop the
			// server: the open build answers, and the next query tries again.
			w.logger.Warn("new warehouse not opened: serving the previous build", "path", w.path, "error", err)
			w.cur.refs++
			return w.cur, nil
		}
		return nil, err
	}
	w.live.Add(1)
	old := w.cur
	idle := false
	if old != nil {
		old.retired = true
		idle = old.refs == 0
		w.logger.Info("warehouse replaced by a new build: new queries use it", "path", w.path, "queries_on_previous", old.refs)
	}
	w.cur = h
	h.refs++
	w.mu.Unlock()
	if idle {
		w.closeHandle(old)
	}
	return h, nil
}

// release ends a query's use of h; the last query on a replaced build closes it.
func (w *warehouse) release(h *handle) {
	w.mu.Lock()
	h.refs--
	last := h.retired && h.refs == 0
	w.mu.Unlock()
	if last {
		w.closeHandle(h)
	}
}

// close ends the server's use of the warehouse (Server.Close): the current handle is closed
// once its queries finish.
func (w *warehouse) close() {
	w.mu.Lock()
	h := w.cur
	w.cur = nil
	last := false
	if h != nil {
		h.retired = true
		last = h.refs == 0
	}
	w.mu.Unlock()
	if last {
		w.closeHandle(h)
	}
}

func openHandle(ctx context.Context, path string, id fileID, logger *slog.Logger) (*handle, error) {
	// The warehouse is attached READ_ONLY to an in-memory database, not opened as the main
	// database: duckdb-go keeps one database instance per path (its instance cache), so opening
	// the path again after a swap would hand back the replaced build while it is still open.
	// READ_ONLY makes DuckDB refuse every write to the file and take only a shared lock, so
	// `permlake sql` and other readers open it too. USE is per connection, hence the init
	// function, which every new pooled connection runs; the first one attaches.
	name := catalogName(path)
	var mu sync.Mutex
	attached := false
	connector, err := duckdb.NewConnector("", func(ex driver.ExecerContext) error {
		mu.Lock()
		defer mu.Unlock()
		qs := []string{"use " + quoteIdent(name)}
		if !attached {
			qs = append([]string{"attach " + sqlQuote(path) + " as " + quoteIdent(name) + " (read_only)"}, qs...)
		}
		for _, q := range qs {
			// Not ctx: the pool opens connections for later queries with this function too.
			if _, err := ex.ExecContext(context.Background(), q, nil); err != nil {
				return err
			}
		}
		attached = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	h := &handle{db: db, id: id, inited: map[any]bool{}}
	var lake sql.NullString
	if err := db.QueryRowContext(ctx, "select lake from build_info").Scan(&lake); err != nil {
		if ctx.Err() != nil || !strings.Contains(err.Error(), "build_info") {
			return nil, errors.Join(fmt.Errorf("open warehouse %s: %w", path, err), db.Close())
		}
		logger.Warn("the warehouse names no lake: the src_* views are not available", "path", path, "error", err)
	} else if _, err := os.Stat(lake.String); lake.String == "" || err != nil {
		logger.Warn("the warehouse's lake is not there: the src_* views are not available", "path", path, "lake", lake.String)
	} else {
		h.lake = lake.String
	}
	if err := confine(ctx, db, h.lake); err != nil {
		return nil, errors.Join(fmt.Errorf("open warehouse %s: %w", path, err), db.Close())
	}
	logger.Info("warehouse opened", "path", path, "catalog", name, "lake", h.lake, "files_readable", h.lake != "")
	return h, nil
}

// confine keeps queries from reading any file but the lake's: a SELECT may call read_csv,
// read_text or glob on any path the server's user can read, and the server answers over the
// network. The per-account marts are views over the lake's mart partitions (or their copies
// under the models' cache, which is then the lake the warehouse names), and the src_* views
// read the lake, so the lake directory is the one DuckDB may still read (allowed_directories,
// a prefix). lock_configuration keeps a client from setting it back (SET is refused before
// that anyway: readOnly). A warehouse naming no lake reads no file at all.
func confine(ctx context.Context, db *sql.DB, lake string) error {
	var qs []string
	if lake != "" {
		dir := strings.TrimSuffix(lake, string(filepath.Separator)) + string(filepath.Separator)
		qs = append(qs, "set allowed_directories = ["+sqlQuote(dir)+"]")
	}
	qs = append(qs, "set enable_external_access = false", "set lock_configuration = true")
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// catalogName is the name queries and catalog browsing see the warehouse under: its file name
// without extension, as `permlake sql` (which opens the file as its main database) sees it.
func catalogName(path string) string {
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if name == "" || name == "memory" || name == "temp" || name == "system" {
		return "warehouse"
	}
	return name
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// conn is a connection of h with the lake's raw tables as src_* views. The views are
// temporary (the file is read-only), so each pooled connection gets them once.
func (h *handle) conn(ctx context.Context) (*sql.Conn, error) {
	c, err := h.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if h.lake == "" {
		return c, nil
	}
	var key any
	if err := c.Raw(func(dc any) error { key = dc; return nil }); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	h.initMu.Lock()
	done := h.inited[key]
	h.initMu.Unlock()
	if done {
		return c, nil
	}
	if err := runner.SourceViews(ctx, c, h.lake); err != nil {
		return nil, errors.Join(fmt.Errorf("raw tables of %s: %w", h.lake, err), c.Close())
	}
	h.initMu.Lock()
	h.inited[key] = true
	h.initMu.Unlock()
	return c, nil
}

func (w *warehouse) closeHandle(h *handle) {
	w.live.Add(-1)
	if err := h.db.Close(); err != nil {
		w.logger.Warn("close a warehouse build", "path", w.path, "error", err)
	}
}
