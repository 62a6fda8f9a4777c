import { Context } from '@temporalio/activity';

/**
 * The most pages one listing reads. 100 pages of 300 is 30,000 records, more than any list we read
 * (a host's meetings, one meeting's participants, a group's members) holds; a listing that is still
 * going at that point is a server handing out endless tokens, which once cost 2,713 requests in 159 s.
 */
export const MAX_PAGES = 100;

/** One page of a Zoom list, in the three fields every Zoom list answer has. */
export interface Page<T> {
  items: T[];
  /** Empty or absent on the last page. */
  nextPageToken?: string;
  /** Records across all pages, when Zoom says. */
  totalRecords?: number;
}

/** Why a listing stopped although Zoom offered another page. */
export type PagingStop = 'repeated-token' | 'all-records-read' | 'page-cap';

export interface CollectedPages<T> {
  items: T[];
  /** Requests made. */
  pages: number;
  /** Set when the listing stopped before Zoom said it was done; `items` is what was read by then. */
  stopped?: PagingStop;
}

export type PagingWarn = (message: string, meta: Record<string, unknown>) => void;

export interface CollectPagesOptions<T> {
  /** What is listed, for the warning: "list meetings of host a@b.c". */
  operation: string;
  /** Reads the page the token names (undefined: the first page). */
  fetchPage: (pageToken: string | undefined) => Promise<Page<T>>;
  maxPages?: number;
  /** Where the warning goes; by default the activity's logger (the console outside an activity). */
  warn?: PagingWarn;
}

/**
 * Reads every page of a Zoom list. Trusting `next_page_token` alone loops forever on a server that
 * repeats a token, so the loop also stops on a token it has already sent, once it holds
 * `total_records` records, and after `maxPages` pages, and warns when it does.
 */
export async function collectPages<T>(options: CollectPagesOptions<T>): Promise<CollectedPages<T>> {
  const maxPages = options.maxPages ?? MAX_PAGES;
  const items: T[] = [];
  const sent = new Set<string>();
  let token: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await options.fetchPage(token);
    items.push(...page.items);
    const next = page.nextPageToken || undefined;
    if (!next) return { items, pages };
    const stop = (stopped: PagingStop, why: string): CollectedPages<T> => {
      (options.warn ?? activityWarn)(
        `Zoom ${options.operation}: stopped after ${pages} page(s) and ${items.length} record(s): ${why}`,
        {
          operation: options.operation,
          pages,
          records: items.length,
          totalRecords: page.totalRecords,
          stopped,
        },
      );
      return { items, pages, stopped };
    };
    // Holding every record Zoom counted is checked first: it says nothing was lost.
    if (page.totalRecords !== undefined && items.length >= page.totalRecords) {
      return stop(
        'all-records-read',
        `all ${page.totalRecords} record(s) Zoom reported are read, yet it offered another page`,
      );
    }
    if (sent.has(next)) return stop('repeated-token', 'Zoom offered a page token it had already answered');
    if (pages >= maxPages) return stop('page-cap', `reached the cap of ${maxPages} pages`);
    sent.add(next);
    token = next;
  }
}

/** The running activity's logger, so the warning carries the workflow and activity; the console elsewhere (CLI, tests). */
function activityWarn(message: string, meta: Record<string, unknown>): void {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    context = undefined;
  }
  if (context) context.log.warn(message, meta);
  else console.warn(message, meta);
}
