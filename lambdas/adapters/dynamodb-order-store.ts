import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { HoldInfo } from '../domain/availability';
import { BEFORE_ANOTHER_ATTEMPT, callbackNonce } from '../domain/callback';
import { FINISHING_EVENTS, type ItemEvent, LIFECYCLE, type OrderChangeEvent } from '../domain/item-lifecycle';
import {
  callbackEntry,
  callbackKey,
  historyDueForLog,
  type ItemLogEntry,
  itemDetail,
  keptEntry,
  outcomeEntries,
  recentTransitions,
  tracedSteps,
} from '../domain/item-log';
import {
  type AttemptRecord,
  type Awaiting,
  externalIdsOf,
  type HistoryEntry,
  type ItemDetail,
  type ItemRecord,
  type ItemState,
  type KeptAnswer,
  type OrderRecord,
  type OrderState,
  type Revision,
  WAITING_TO_START,
} from '../domain/orchestration';
import type { ProcedureProgress } from '../domain/procedure';
import type { Actor } from '../domain/roles';
import type {
  CallbackChange,
  FalloutItem,
  HeldItem,
  ItemOutcome,
  OrderAggregate,
  OrderDetail,
  OrderListQuery,
  OrderStore,
} from '../ports/order-store';
import { batchGet } from '../shared/batch-get';
import { logger } from '../shared/logger';
import {
  FALLOUT_LIST,
  ITEMS_BY_LEASE,
  ITEMS_HELD_BY_INTERFACE,
  ITEMS_HELD_BY_SYSTEM,
  ITEMS_IN_FALLOUT,
  LEASE_LIST,
  listShardOf,
} from '../shared/order-table';
import { deleteEach, putEach } from '../shared/put-each';
import { listOrderRecords } from './dynamodb-order-listing';
import {
  ACCEPTED_SK,
  externalPk,
  holdSort,
  itemSk,
  keptAnswerSk,
  LOG,
  listKeys,
  listPartition,
  logPrefix,
  logSk,
  ORDER_SK,
  orderPk,
  PROGRESS_SK,
  type Progress,
  SUBMISSION_SK,
  toItem,
  toLogEntry,
  toOrder,
  toProgress,
} from './order-records';

/** What a held item leaves as it stops being held: the on-hold indexes' keys and a release's stamp. */
const OFF_THE_HOLD_LISTS = ['heldSystem', 'heldInterface', 'holdSort', 'releaseId', 'releaseAt'];
/** The states of an item that waits to start (orchestration.ts: WAITING_TO_START), as condition values. */
const WAITING_VALUES = Object.fromEntries(WAITING_TO_START.map((state, i) => [`:w${i}`, state]));
/** Puts an item in fallout on the fallout list (a sparse index) until an operator acts; see falloutListing. */
const ONTO_THE_FALLOUT_LIST = 'falloutList = :fallout, falloutSort = :falloutSort';
/** The values of ONTO_THE_FALLOUT_LIST: oldest first, by when the item fell out. */
const falloutListing = (orderId: string, key: string, at: string) => ({
  ':fallout': FALLOUT_LIST,
  ':falloutSort': `${at}#${orderId}#${key}`,
});

/**
 * Orders, items and their logs in one table, one partition per order, so one Query reads a whole order
 * (the records and their keys: order-records.ts).
 */
export class DynamoDbOrderStore implements OrderStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async createOrder(order: OrderRecord, items: ItemRecord[]): Promise<void> {
    // Written before the order, in batches: an order is never seen without what it was accepted as, its
    // progress, its items and what finds it.
    const { submitted, ...state } = order;
    const records = [
      { pk: orderPk(order.id), sk: ACCEPTED_SK, submitted },
      { pk: orderPk(order.id), sk: PROGRESS_SK, attributes: {} },
      ...items.map((item) => ({ pk: orderPk(order.id), sk: itemSk(item.key), ...item })),
      ...externalIdsOf(order).map((externalId) => ({
        pk: externalPk(externalId),
        sk: orderPk(order.id),
        orderId: order.id,
      })),
    ];
    try {
      await putEach(this.db, this.tableName, records);
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: orderPk(order.id), sk: ORDER_SK, ...state, ...listKeys(order) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // An order that could not be written leaves nothing behind: what was written before it goes. (An
      // order that exists already is not this write's: a retry of its submission found it; keep it all.)
      if (!isConditionFailure(error)) {
        const keys = records.map(({ pk, sk }) => ({ pk, sk }));
        await deleteEach(this.db, this.tableName, keys).catch((cleanup: unknown) =>
          logger.error('records of an order that could not be written were left', {
            orderId: order.id,
            error: String(cleanup),
          }),
        );
      }
      throw error;
    }
  }

  async claimSubmission(
    orderId: string,
    fingerprint: string,
    at: string,
  ): Promise<{ claimed: true } | { claimed: false; fingerprint: string; at: string }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: orderPk(orderId), sk: SUBMISSION_SK, fingerprint, at },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: orderPk(orderId), sk: SUBMISSION_SK },
          ConsistentRead: true,
        }),
      );
      return {
        claimed: false,
        fingerprint: String(existing.Item?.fingerprint ?? ''),
        at: String(existing.Item?.at ?? ''),
      };
    }
  }

  async getOrder(orderId: string): Promise<OrderRecord | undefined> {
    const records = await batchGet(this.db, this.tableName, [
      { pk: orderPk(orderId), sk: ORDER_SK },
      { pk: orderPk(orderId), sk: ACCEPTED_SK },
    ]);
    const record = records.find((r) => r.sk === ORDER_SK);
    return record
      ? toOrder(
          record,
          records.find((r) => r.sk === ACCEPTED_SK),
        )
      : undefined;
  }

  /** The orders of these order records, each with the order as accepted (read in batches). */
  private async withAccepted(records: Record<string, unknown>[]): Promise<OrderRecord[]> {
    const accepted = new Map(
      (
        await batchGet(
          this.db,
          this.tableName,
          records.map((record) => ({ pk: String(record.pk), sk: ACCEPTED_SK })),
        )
      ).map((record) => [String(record.pk), record]),
    );
    return records.map((record) => toOrder(record, accepted.get(String(record.pk))));
  }

  async listOrders(query: OrderListQuery) {
    const { records, next } = await listOrderRecords(this.db, this.tableName, query);
    return { orders: await this.withAccepted(records), ...(next !== undefined ? { next } : {}) };
  }

  async getAggregate(orderId: string): Promise<OrderAggregate | undefined> {
    let order: OrderRecord | undefined;
    let progress: Progress = { done: [], context: {} };
    const items = new Map<string, ItemRecord>();
    const records = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND sk < :log',
      ExpressionAttributeValues: { ':pk': orderPk(orderId), ':log': LOG },
    });
    const accepted = records.find((record) => record.sk === ACCEPTED_SK);
    for (const record of records) {
      if (record.sk === ORDER_SK) order = toOrder(record, accepted);
      else if (record.sk === PROGRESS_SK) progress = toProgress(record);
      else if (String(record.sk).startsWith('ITEM#')) {
        const item = toItem(record);
        items.set(item.key, item);
      }
    }
    return order ? { order, context: progress.context, done: progress.done, items } : undefined;
  }

  async getItem(orderId: string, key: string): Promise<ItemRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: itemSk(key) },
        ConsistentRead: true,
      }),
    );
    return result.Item ? toItem(result.Item) : undefined;
  }

  async getItemDetail(orderId: string, key: string): Promise<ItemDetail | undefined> {
    const [state, log] = await Promise.all([
      this.getItem(orderId, key),
      this.queryAll({
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
        ExpressionAttributeValues: { ':pk': orderPk(orderId), ':log': logPrefix(key) },
      }),
    ]);
    return state ? itemDetail(state, log.map(toLogEntry)) : undefined;
  }

  async getOrderDetail(orderId: string): Promise<OrderDetail | undefined> {
    const [aggregate, log] = await Promise.all([
      this.getAggregate(orderId),
      this.queryAll({
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
        ExpressionAttributeValues: { ':pk': orderPk(orderId), ':log': `${LOG}LOG#` },
      }),
    ]);
    if (!aggregate) return undefined;
    const entries = new Map<string, ItemLogEntry[]>();
    for (const record of log) {
      const key = String(record.itemKey);
      entries.set(key, [...(entries.get(key) ?? []), toLogEntry(record)]);
    }
    const items = new Map<string, ItemDetail>();
    for (const [key, item] of aggregate.items) items.set(key, itemDetail(item, entries.get(key) ?? []));
    return { order: aggregate.order, context: aggregate.context, done: aggregate.done, items };
  }

  async getItemForCallback(orderId: string, key: string, nonce: string, callbackId: string) {
    const callbackSk = `${logPrefix(key)}${callbackKey(nonce, callbackId)}`;
    const records = await batchGet(this.db, this.tableName, [
      { pk: orderPk(orderId), sk: itemSk(key) },
      { pk: orderPk(orderId), sk: callbackSk },
    ]);
    const item = records.find((record) => record.sk === itemSk(key));
    return {
      item: item ? toItem(item) : undefined,
      keptBefore: records.some((record) => record.sk === callbackSk),
    };
  }

  /** Every record a query of the order table finds, page after page, read consistently. */
  private async queryAll(
    query: Pick<
      ConstructorParameters<typeof QueryCommand>[0],
      'KeyConditionExpression' | 'ExpressionAttributeValues'
    >,
  ): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          ...query,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  async getProgressWith(orderId: string, keys: string[]) {
    let done: string[] | undefined;
    const items = new Map<string, ItemRecord>();
    const records = await batchGet(this.db, this.tableName, [
      { pk: orderPk(orderId), sk: PROGRESS_SK },
      ...[...new Set(keys)].map((key) => ({ pk: orderPk(orderId), sk: itemSk(key) })),
    ]);
    for (const record of records) {
      if (record.sk === PROGRESS_SK) done = toProgress(record).done;
      else {
        const item = toItem(record);
        items.set(item.key, item);
      }
    }
    return { done, items };
  }

  async saveProcedureProgress(
    orderId: string,
    key: string,
    attemptId: string,
    progress: ProcedureProgress,
    at: string,
    nonce?: string,
  ): Promise<boolean> {
    const { trace, ...state } = progress;
    // The steps' trace first: a worker that dies after it runs the step again and keeps it again.
    if (trace.length > 0)
      await this.appendLog(orderId, key, outcomeEntries({ steps: tracedSteps(progress) }));
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      // The callback URL of the step about to be sent, or none: no earlier step's answer applies now.
      UpdateExpression: `SET #procedure = :progress, updatedAt = :at${nonce ? ', callbackNonce = :nonce' : ' REMOVE callbackNonce'}`,
      ConditionExpression: '#state = :running AND attemptId = :attempt',
      ExpressionAttributeNames: { '#procedure': 'procedure', '#state': 'state' },
      ExpressionAttributeValues: {
        ':progress': state,
        ':at': at,
        ':running': 'Running' satisfies ItemState,
        ':attempt': attemptId,
        ...(nonce ? { ':nonce': nonce } : {}),
      },
    });
  }

  async attachTaskToken(orderId: string, key: string, taskToken: string, at: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      // A string set: a redelivered dispatch adds nothing, a re-run execution adds its new token.
      UpdateExpression: 'ADD taskTokens :token SET updatedAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':token': new Set([taskToken]), ':at': at },
    });
  }

  async claimItem(
    orderId: string,
    key: string,
    attemptId: string,
    at: string,
    reason: string,
    leaseUntil?: string,
    nonce?: string,
    guardOrder?: readonly OrderState[],
  ): Promise<boolean> {
    return this.transition(orderId, key, historyEntry(at, 'Running', reason), {
      ...(guardOrder ? { guardOrder } : {}),
      // A held item leaves the on-hold indexes as it starts: the same write, so it is listed or running.
      sets: [
        'attemptId = :attempt',
        'startedAt = if_not_exists(startedAt, :at)',
        'callbackNonce = :nonce',
        // Held by a worker: on the lease index until any other transition takes both off.
        ...(leaseUntil ? ['leaseUntil = :lease', 'leaseList = :leased'] : []),
      ],
      values: {
        ':nonce': nonce ?? callbackNonce(attemptId),
        ':freezeNow': at,
        ...(leaseUntil ? { ':lease': leaseUntil, ':leased': LEASE_LIST } : {}),
      },
      // Another attempt's item may be taken over once its lease has run out by now.
      leaseNow: at,
      removes: [...OFF_THE_HOLD_LISTS, 'nextAttemptAt', '#error', 'amendFreeze'],
      event: 'start',
      attemptId,
      // Not while an amendment of its order is assessed (amendment.ts), unless that has run out.
      also: '(attribute_not_exists(amendFreeze) OR amendFreeze.#until < :freezeNow)',
      names: { '#error': 'error', '#until': 'until' },
    });
  }

  async renewLease(orderId: string, key: string, attemptId: string, leaseUntil: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: orderPk(orderId), sk: itemSk(key) },
          UpdateExpression: 'SET leaseUntil = :lease',
          ConditionExpression: '#state = :running AND attemptId = :attempt AND attribute_exists(leaseUntil)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':lease': leaseUntil, ':running': 'Running', ':attempt': attemptId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async expiredLeases(now: string, limit: number): Promise<{ orderId: string; key: string }[]> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: ITEMS_BY_LEASE,
        KeyConditionExpression: 'leaseList = :list AND leaseUntil < :now',
        ExpressionAttributeValues: { ':list': LEASE_LIST, ':now': now },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((record) => ({ orderId: String(record.orderId), key: String(record.key) }));
  }

  async holdItem(
    orderId: string,
    key: string,
    attemptId: string,
    hold: HoldInfo,
    at: string,
  ): Promise<boolean> {
    return this.transition(orderId, key, historyEntry(at, 'OnHold', `on hold: ${hold.reason}`), {
      sets: [
        '#hold = :hold',
        'heldSystem = :system',
        'holdSort = :sort',
        // Without an interface the item stays out of the by-interface index (it is sparse).
        ...(hold.interfaceId === undefined ? [] : ['heldInterface = :interface']),
      ],
      removes: [
        ...(hold.interfaceId === undefined ? ['heldInterface'] : []),
        'attemptId',
        'releaseId',
        'releaseAt',
        'nextAttemptAt',
      ],
      event: 'hold',
      attemptId,
      // A takeover may hold an item whose worker's lease has run out by now.
      leaseNow: at,
      names: { '#hold': 'hold' },
      values: {
        ':hold': hold,
        ':system': hold.systemId,
        ...(hold.interfaceId === undefined ? {} : { ':interface': hold.interfaceId }),
        ':sort': holdSort(orderId, key, hold.since),
      },
    });
  }

  async stampRelease(
    orderId: string,
    key: string,
    releaseId: string,
    at: string,
    staleBefore: string,
  ): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET releaseId = :release, releaseAt = :at',
      ConditionExpression:
        '#state = :onHold AND (attribute_not_exists(releaseId) OR releaseId = :release OR releaseAt < :stale)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':onHold': 'OnHold' satisfies ItemState,
        ':release': releaseId,
        ':at': at,
        ':stale': staleBefore,
      },
    });
  }

  async clearReleaseStamp(orderId: string, key: string, releaseId: string): Promise<void> {
    await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'REMOVE releaseId, releaseAt',
      ConditionExpression: 'releaseId = :release',
      ExpressionAttributeValues: { ':release': releaseId },
    });
  }

  async listHeldItems(query: {
    systemId: string;
    interfaceId?: string;
    after?: string;
    limit: number;
  }): Promise<{ items: HeldItem[]; next?: string }> {
    const byInterface = query.interfaceId !== undefined;
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: byInterface ? ITEMS_HELD_BY_INTERFACE : ITEMS_HELD_BY_SYSTEM,
        KeyConditionExpression: `${byInterface ? 'heldInterface' : 'heldSystem'} = :id${query.after ? ' AND holdSort > :after' : ''}`,
        ExpressionAttributeValues: {
          ':id': byInterface ? query.interfaceId : query.systemId,
          ...(query.after ? { ':after': query.after } : {}),
        },
        Limit: query.limit,
      }),
    );
    const items = (page.Items ?? []).map((record) => ({
      orderId: String(record.orderId),
      key: String(record.key),
      hold: record.hold as HoldInfo,
      holdSort: String(record.holdSort),
      ...(record.releaseId
        ? { release: { id: String(record.releaseId), at: String(record.releaseAt) } }
        : {}),
    }));
    const last = items.at(-1);
    return { items, ...(page.LastEvaluatedKey && last ? { next: last.holdSort } : {}) };
  }

  async holdOrder(orderId: string, key: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: ORDER_SK },
        UpdateExpression: 'ADD holds :key SET updatedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':key': new Set([key]), ':at': at },
      }),
    );
    await this.setOrderState(orderId, ['acknowledged', 'inProgress'], 'held', at);
  }

  async releaseOrderHold(orderId: string, key: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: ORDER_SK },
        UpdateExpression: 'DELETE holds :key SET updatedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':key': new Set([key]), ':at': at },
      }),
    );
    // An empty set is no attribute in DynamoDB: the order goes on only when nothing holds it any more.
    await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: 'SET #state = :to, listState = :list, updatedAt = :at',
      ConditionExpression: '#state = :held AND attribute_not_exists(holds)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':to': 'inProgress',
        ':list': listPartition('inProgress', listShardOf(orderId)),
        ':held': 'held',
        ':at': at,
      },
    });
  }

  async skipItem(
    orderId: string,
    key: string,
    attemptId: string,
    reason: string,
    at: string,
  ): Promise<boolean> {
    return this.transition(orderId, key, historyEntry(at, 'Skipped', reason), {
      sets: ['completedAt = :at'],
      event: 'skip',
      attemptId,
    });
  }

  async completeManualTask(
    orderId: string,
    key: string,
    by: Actor,
    attributes: Record<string, unknown>,
    note: string | undefined,
    at: string,
  ): Promise<boolean> {
    const reason = `completed by ${by.name} (${by.id})${note ? `: ${note}` : ''}`;
    return this.transition(
      orderId,
      key,
      { ...historyEntry(at, 'Completed', reason), by },
      {
        sets: ['completedAt = :at', 'completedBy = :by', 'outputAttributes = :attributes'],
        event: 'manualComplete',
        also: '#type = :manual',
        names: { '#type': 'type' },
        values: {
          ':manual': 'manualTask',
          ':by': by,
          ':attributes': attributes,
        },
      },
    );
  }

  completeItem(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome,
    at: string,
  ): Promise<boolean> {
    return this.finishItem(orderId, key, attemptId, 'Completed', outcome, at, 'completed');
  }

  failItem(
    orderId: string,
    key: string,
    attemptId: string,
    error: string,
    outcome: ItemOutcome,
    at: string,
    newRequest = false,
  ): Promise<boolean> {
    return this.finishItem(orderId, key, attemptId, 'FatallyFailed', outcome, at, error, {
      newRequest,
    });
  }

  awaitCallback(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome,
    awaiting: Awaiting,
    at: string,
  ): Promise<boolean> {
    const waits = awaiting.poll ? `polling ${awaiting.poll.path} for its status` : 'waiting for its callback';
    const reason = `${awaiting.step !== undefined ? `procedure step "${awaiting.step}" ` : ''}accepted by the system; ${waits} until ${awaiting.deadline}`;
    // The attempt is kept first: a callback faster than the system's own answer may have finished the
    // item already, and what was sent is kept all the same.
    return this.transition(
      orderId,
      key,
      historyEntry(at, 'Running', reason),
      {
        sets: ['awaiting = :awaiting', ...(outcome.attempt ? ['attemptCount = :attempts'] : [])],
        event: 'await',
        attemptId,
        values: {
          ':awaiting': awaiting,
          ...(outcome.attempt ? { ':attempts': outcome.attempt.number } : {}),
        },
      },
      outcomeEntries(outcome),
    );
  }

  async applyCallback(
    orderId: string,
    key: string,
    attemptId: string,
    callbackId: string,
    change: CallbackChange,
    at: string,
    nonce = callbackNonce(attemptId),
  ): Promise<boolean> {
    if (change.kind === 'stepCompleted')
      return this.resumeAfterStep(orderId, key, attemptId, callbackId, change, at, nonce);
    const kept = callbackEntry(change, { nonce, callbackId, at });
    if (change.kind === 'interim') {
      // Changes no state: kept in the log once by its id, after the transition it followed. What it
      // learnt goes on the item first: setting the same values again is harmless, and a redelivery after
      // a crash between the two writes still finds its log entry missing and sets them.
      if (!kept) return false;
      if (change.attributes && Object.keys(change.attributes).length > 0)
        await this.keepInterimAttributes(orderId, key, nonce, change.attributes, at);
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: this.logRecord(orderId, key, kept),
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    }
    // The answer is kept before it is applied (a deadline has no body to keep); whether it applies is
    // the item's state's to say: Running under the attempt that issued the URL — known by its nonce, which
    // a takeover keeps while the delivery holding the item changes.
    const facts = kept ? [kept] : [];
    const callback = { callbackId, nonce };
    return change.kind === 'completed'
      ? this.finishItem(
          orderId,
          key,
          attemptId,
          'Completed',
          { attributes: change.attributes },
          at,
          "completed by the system's callback",
          { callback, facts },
        )
      : this.finishItem(
          orderId,
          key,
          attemptId,
          change.retry ? 'Failed' : 'FatallyFailed',
          change.attempt ? { attempt: change.attempt } : {},
          at,
          change.retry
            ? `${change.error}; retry ${change.retry.retries} at ${change.retry.at} (retry rule "${change.retry.ruleId}")`
            : change.error,
          {
            callback,
            ...(change.retry ? { next: change.retry } : {}),
            facts,
            newRequest: !!change.newRequest,
          },
        );
  }

  /**
   * Adds an interim update's attributes to the item while it waits under the request whose URL carries
   * this nonce (one by one, so that updates applied at once each keep theirs); nothing once it stopped.
   */
  private async keepInterimAttributes(
    orderId: string,
    key: string,
    nonce: string,
    attributes: Record<string, unknown>,
    at: string,
  ): Promise<void> {
    const names: Record<string, string> = { '#state': 'state', '#interim': 'interimAttributes' };
    const values: Record<string, unknown> = { ':running': 'Running', ':nonce': nonce, ':at': at };
    const sets = Object.entries(attributes).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `#interim.#a${i} = :a${i}`;
    });
    const waiting = '#state = :running AND callbackNonce = :nonce';
    const addToMap = () =>
      this.conditionalUpdate({
        Key: { pk: orderPk(orderId), sk: itemSk(key) },
        UpdateExpression: `SET ${sets.join(', ')}, updatedAt = :at`,
        ConditionExpression: `${waiting} AND attribute_exists(#interim)`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    // The map is made by the first update that has something to keep; later ones add to it.
    if (await addToMap()) return;
    const made = await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET #interim = :all, updatedAt = :at',
      ConditionExpression: `${waiting} AND attribute_not_exists(#interim)`,
      ExpressionAttributeNames: { '#state': 'state', '#interim': 'interimAttributes' },
      ExpressionAttributeValues: { ':running': 'Running', ':nonce': nonce, ':at': at, ':all': attributes },
    });
    // Another update made the map between the two writes: add to it.
    if (!made) await addToMap();
  }

  /**
   * A procedure's asynchronous step answered: its output into the procedure's progress, the item Pending
   * for the next claim, which runs the procedure on from the next step. Only while the item waits on the
   * URL of that step (its nonce) and its progress stands at it.
   */
  private async resumeAfterStep(
    orderId: string,
    key: string,
    attemptId: string,
    callbackId: string,
    change: Extract<CallbackChange, { kind: 'stepCompleted' }>,
    at: string,
    nonce: string,
  ): Promise<boolean> {
    const { step, output, body, trace } = change;
    const kept = callbackEntry({ kind: 'completed', body }, { nonce, callbackId, at });
    const reason = `procedure step "${step.id}" completed by the system's callback; the procedure goes on at its next step`;
    // The answer first, as every answer is kept before it applies; the step's line in the trace once it
    // applied (a step an answer did not complete is no step that ran).
    const resumed = await this.transition(
      orderId,
      key,
      historyEntry(at, 'Pending', reason),
      {
        sets: ['#procedure.#next = :next', '#procedure.#steps.#step = :output', 'finishedBy = :callback'],
        // No attempt holds it and no URL is waited on any more: the next claim starts afresh.
        // What the step's interim updates learnt was the step's: the next step starts with none.
        removes: ['attemptId', 'awaiting', 'callbackNonce', 'interimAttributes'],
        event: 'resume',
        attemptId,
        nonce,
        also: '#procedure.#next = :index',
        names: { '#procedure': 'procedure', '#next': 'next', '#steps': 'steps', '#step': step.id },
        values: { ':next': step.index + 1, ':index': step.index, ':output': output, ':callback': callbackId },
      },
      kept ? [kept] : [],
    );
    if (resumed)
      await this.appendLog(orderId, key, outcomeEntries({ steps: [{ index: step.index, trace }] }));
    return resumed;
  }

  async keepAnswer(
    orderId: string,
    key: string,
    answer: KeptAnswer,
    body: unknown,
    at: string,
  ): Promise<boolean> {
    const { nonce, callbackId } = answer;
    // The body whole first, then the callback in the log (cut as the log cuts), then the item: a worker
    // that dies before the last leaves records no item points to, and the callback, redelivered, does
    // it again.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: orderPk(orderId), sk: keptAnswerSk(key, nonce, callbackId), orderId, itemKey: key, body },
      }),
    );
    const logged = callbackEntry({ kind: 'completed', body }, { nonce, callbackId, at });
    if (logged) await this.appendLog(orderId, key, [logged]);
    // The store's side of keepsAnswerFor (domain/callback.ts).
    const states = Object.fromEntries(BEFORE_ANOTHER_ATTEMPT.map((state, i) => [`:between${i}`, state]));
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET keptAnswer = :kept, updatedAt = :at',
      ConditionExpression: `callbackNonce = :nonce AND #state IN (${Object.keys(states).join(', ')}) AND attribute_not_exists(keptAnswer)`,
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':kept': answer, ':at': at, ':nonce': nonce, ...states },
    });
  }

  async keptAnswerBody(
    orderId: string,
    key: string,
    { nonce, callbackId }: KeptAnswer,
  ): Promise<{ body: unknown } | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: keptAnswerSk(key, nonce, callbackId) },
        ConsistentRead: true,
      }),
    );
    return result.Item ? { body: result.Item.body } : undefined;
  }

  private finishItem(
    orderId: string,
    key: string,
    attemptId: string,
    state: keyof typeof FINISHING_EVENTS,
    outcome: ItemOutcome,
    at: string,
    reason: string,
    {
      callback,
      next,
      facts = [],
      newRequest = false,
    }: {
      callback?: { callbackId: string; nonce: string };
      next?: { at: string; retries: number };
      facts?: ItemLogEntry[];
      /** The system refused the request itself: the next attempt is a new request (renewsRequest). */
      newRequest?: boolean;
    } = {},
  ): Promise<boolean> {
    const sets: string[] = [];
    const removes: string[] = [];
    if (newRequest) {
      sets.push('requestGeneration = if_not_exists(requestGeneration, :zero) + :one');
      removes.push('callbackNonce', 'keptAnswer', 'interimAttributes');
    }
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (state === 'Completed') sets.push('completedAt = :at');
    else {
      sets.push('#error = :error');
      names['#error'] = 'error';
      values[':error'] = reason;
    }
    if (state === 'FatallyFailed') {
      sets.push(ONTO_THE_FALLOUT_LIST);
      Object.assign(values, falloutListing(orderId, key, at));
    }
    if (next) {
      // Failed until its next attempt; a callback wait it was in is over.
      sets.push('nextAttemptAt = :next, retries = :retries');
      values[':next'] = next.at;
      values[':retries'] = next.retries;
      removes.push('awaiting');
    }
    if (outcome.attempt) {
      sets.push('attemptCount = :attempts');
      values[':attempts'] = outcome.attempt.number;
    }
    if (outcome.attributes !== undefined) {
      sets.push('outputAttributes = :attributes');
      values[':attributes'] = outcome.attributes;
    }
    if (callback) {
      sets.push('finishedBy = :callback');
      values[':callback'] = callback.callbackId;
    }
    return this.transition(
      orderId,
      key,
      historyEntry(at, state, reason),
      {
        sets,
        removes,
        event: FINISHING_EVENTS[state],
        attemptId,
        ...(callback ? { nonce: callback.nonce } : {}),
        names,
        values,
      },
      [...facts, ...outcomeEntries(outcome)],
    );
  }

  retryLater(
    orderId: string,
    key: string,
    attemptId: string,
    outcome: ItemOutcome & { attempt: AttemptRecord },
    next: { at: string; retries: number; error: string },
    at: string,
    newRequest = false,
  ): Promise<boolean> {
    const decision = outcome.attempt.decision;
    const reason =
      decision.kind === 'retry'
        ? `${next.error}; retry ${decision.retry} at ${decision.at} (retry rule "${decision.ruleId}")`
        : next.error;
    return this.finishItem(orderId, key, attemptId, 'Failed', outcome, at, reason, { next, newRequest });
  }

  async listFallout(query: {
    after?: string;
    limit: number;
  }): Promise<{ items: FalloutItem[]; next?: string }> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: ITEMS_IN_FALLOUT,
        KeyConditionExpression: `falloutList = :list${query.after ? ' AND falloutSort > :after' : ''}`,
        ExpressionAttributeValues: {
          ':list': FALLOUT_LIST,
          ...(query.after ? { ':after': query.after } : {}),
        },
        Limit: query.limit,
      }),
    );
    const items = (page.Items ?? []).map((record) => ({
      orderId: String(record.orderId),
      key: String(record.key),
      ...(record.error ? { error: String(record.error) } : {}),
      since: String(record.falloutSort).split('#')[0] ?? '',
      falloutSort: String(record.falloutSort),
    }));
    const last = items.at(-1);
    return { items, ...(page.LastEvaluatedKey && last ? { next: last.falloutSort } : {}) };
  }

  retryByOperator(orderId: string, key: string, by: Actor, reason: string, at: string): Promise<boolean> {
    return this.operatorAction(orderId, key, 'operatorRetry', {
      entry: { at, state: 'Pending', reason: `retry asked by ${by.name}: ${reason}`, by },
      sets: ['retries = :zero'],
      values: { ':zero': 0 },
      removes: ['attemptId', 'nextAttemptAt', 'awaiting', '#error'],
    });
  }

  skipByOperator(orderId: string, key: string, by: Actor, note: string, at: string): Promise<boolean> {
    return this.operatorAction(orderId, key, 'operatorSkip', {
      entry: { at, state: 'Skipped', reason: `skipped by ${by.name}: ${note}`, by },
      sets: ['completedAt = :at'],
      values: {},
      removes: ['nextAttemptAt', 'heldSystem', 'heldInterface', 'holdSort', 'releaseId', 'releaseAt'],
    });
  }

  failByOperator(orderId: string, key: string, by: Actor, reason: string, at: string): Promise<boolean> {
    return this.operatorAction(orderId, key, 'operatorFail', {
      entry: { at, state: 'FatallyFailed', reason: `order failed by ${by.name}: ${reason}`, by },
      sets: [],
      values: {},
      removes: ['nextAttemptAt'],
    });
  }

  abortByOperator(
    orderId: string,
    key: string,
    by: Actor,
    abort: { error: string; attempt: AttemptRecord; retry?: { at: string; retries: number } },
    at: string,
  ): Promise<boolean> {
    const { retry } = abort;
    const reason = retry ? `${abort.error}; retry ${retry.retries} at ${retry.at}` : abort.error;
    const sets = ['#error = :error', 'attemptCount = :attempts'];
    const values: Record<string, unknown> = { ':error': abort.error, ':attempts': abort.attempt.number };
    if (retry) {
      sets.push('nextAttemptAt = :next, retries = :retries');
      Object.assign(values, { ':next': retry.at, ':retries': retry.retries });
    } else {
      sets.push(ONTO_THE_FALLOUT_LIST);
      Object.assign(values, falloutListing(orderId, key, at));
    }
    return this.transition(
      orderId,
      key,
      { ...historyEntry(at, retry ? 'Failed' : 'FatallyFailed', reason), by },
      {
        sets,
        removes: ['awaiting'],
        event: retry ? 'operatorAbort' : 'operatorAbortToFallout',
        names: { '#error': 'error' },
        values,
      },
      outcomeEntries({ attempt: abort.attempt }),
    );
  }

  failForEndedRun(orderId: string, key: string, error: string, at: string): Promise<boolean> {
    return this.transition(orderId, key, historyEntry(at, 'FatallyFailed', error), {
      sets: ['#error = :error', ONTO_THE_FALLOUT_LIST],
      removes: ['awaiting', ...OFF_THE_HOLD_LISTS, 'nextAttemptAt'],
      event: 'runEnded',
      names: { '#error': 'error' },
      values: { ':error': error, ...falloutListing(orderId, key, at) },
    });
  }

  /** One operator action on an item its lifecycle lets the action move: its new state, the entry, and off the fallout list. */
  private operatorAction(
    orderId: string,
    key: string,
    event: 'operatorRetry' | 'operatorSkip' | 'operatorFail',
    change: {
      entry: HistoryEntry;
      sets: string[];
      values: Record<string, unknown>;
      removes: string[];
    },
  ): Promise<boolean> {
    return this.transition(orderId, key, change.entry, {
      sets: change.sets,
      removes: ['falloutList', 'falloutSort', ...change.removes],
      event,
      names: change.removes.includes('#error') ? { '#error': 'error' } : {},
      values: change.values,
    });
  }

  async markItemDone(
    orderId: string,
    key: string,
    attributes: Record<string, unknown> | undefined,
  ): Promise<string[]> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':key': new Set([key]) };
    const sets = Object.entries(attributes ?? {}).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `attributes.#a${i} = :a${i}`;
    });
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: PROGRESS_SK },
        // ADD to a set is idempotent: marking the same item twice counts it once.
        UpdateExpression: `ADD doneItems :key${sets.length > 0 ? ` SET ${sets.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(sets.length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toProgress(result.Attributes ?? {}).done;
  }

  cancelItem(
    orderId: string,
    key: string,
    event: OrderChangeEvent,
    reason: string,
    at: string,
    frozenUntil?: string,
  ): Promise<boolean> {
    return this.transition(orderId, key, historyEntry(at, LIFECYCLE[event].to, reason), {
      // Off every list that would bring an operator or a release to it; a frozen item keeps its attempt
      // and callback URL, so its late answer is still known for what it is.
      sets: frozenUntil ? ['frozenUntil = :until'] : [],
      removes: [...OFF_THE_HOLD_LISTS, 'falloutList', 'falloutSort', 'nextAttemptAt', 'awaiting'],
      event,
      ...(frozenUntil ? { values: { ':until': frozenUntil } } : {}),
    });
  }

  recordLateAnswer(
    orderId: string,
    key: string,
    from: { attemptId: string } | { nonce: string; callbackId: string; body: unknown },
    acted: boolean,
    reason: string,
    at: string,
    /** What its answer's mapping gave, kept on the item for its compensation (not on the order). */
    attributes?: Record<string, unknown>,
  ): Promise<boolean> {
    const byCallback = 'nonce' in from;
    const kept = byCallback
      ? callbackEntry(
          { kind: acted ? 'completed' : 'failed', body: from.body },
          { nonce: from.nonce, callbackId: from.callbackId, at },
        )
      : undefined;
    return this.transition(
      orderId,
      key,
      historyEntry(at, 'Frozen', reason),
      {
        sets: ['lateAnswer = :late', ...(attributes ? ['outputAttributes = :attributes'] : [])],
        event: 'lateAnswer',
        also: `attribute_not_exists(lateAnswer) AND ${byCallback ? 'callbackNonce = :by' : 'attemptId = :by'}`,
        values: {
          ':late': acted ? 'acted' : 'notActed',
          ':by': byCallback ? from.nonce : from.attemptId,
          ...(attributes ? { ':attributes': attributes } : {}),
        },
      },
      kept ? [kept] : [],
    );
  }

  async addItems(orderId: string, items: ItemRecord[]): Promise<void> {
    for (const item of items)
      await this.conditionalPut({ pk: orderPk(orderId), sk: itemSk(item.key), ...item });
  }

  async beginAmendment(
    orderId: string,
    revision: number,
    from: readonly OrderState[],
    until: string,
    now: string,
  ): Promise<boolean> {
    const states = Object.fromEntries(from.map((state, i) => [`:from${i}`, state]));
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: 'SET amending = :amending',
      ConditionExpression: [
        `#state IN (${Object.keys(states).join(', ')})`,
        'attribute_not_exists(cancellation)',
        '(attribute_not_exists(amending) OR amending.#until < :now)',
        revision === 2 ? 'attribute_not_exists(revision)' : 'revision = :current',
      ].join(' AND '),
      ExpressionAttributeNames: { '#state': 'state', '#until': 'until' },
      ExpressionAttributeValues: {
        ...states,
        ':amending': { revision, until },
        ':now': now,
        ...(revision === 2 ? {} : { ':current': revision - 1 }),
      },
    });
  }

  freezeForAmendment(orderId: string, key: string, revision: number, until: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET amendFreeze = :freeze',
      ConditionExpression: '#state IN (:w0, :w1, :w2)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':freeze': { revision, until }, ...WAITING_VALUES },
    });
  }

  async thaw(orderId: string, key: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: itemSk(key) },
        UpdateExpression: 'REMOVE amendFreeze',
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  rewire(orderId: string, key: string, dependsOn: string[]): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET dependsOn = :deps',
      ConditionExpression: '#state IN (:w0, :w1, :w2)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':deps': dependsOn, ...WAITING_VALUES },
    });
  }

  async saveAmendment(
    orderId: string,
    revision: Revision,
    submitted: Record<string, unknown>,
    newItemKeys: string[],
    newRuns: OrderRecord['planRuns'] = [],
  ): Promise<boolean> {
    // The order as amended first: items read it when they run, and none runs before the lock is off.
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: orderPk(orderId), sk: ACCEPTED_SK, submitted },
      }),
    );
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression:
        'SET revision = :revision, revisions = list_append(if_not_exists(revisions, :none), :record), itemKeys = list_append(itemKeys, :keys), planRuns = list_append(planRuns, :runs), updatedAt = :at REMOVE amending',
      ConditionExpression: 'amending.revision = :revision',
      ExpressionAttributeValues: {
        ':revision': revision.revision,
        ':record': [revision],
        ':none': [],
        ':keys': newItemKeys,
        ':runs': newRuns,
        ':at': revision.at,
      },
    });
  }

  async endAmendment(orderId: string, revision: number): Promise<void> {
    await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: 'REMOVE amending',
      ConditionExpression: 'amending.revision = :revision',
      ExpressionAttributeValues: { ':revision': revision },
    });
  }

  async addCompensations(orderId: string, cancellationId: string, items: ItemRecord[]): Promise<void> {
    await this.addItems(orderId, items);
    await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: 'SET cancellation.compensations = :keys',
      ConditionExpression: 'cancellation.id = :id',
      ExpressionAttributeValues: { ':keys': items.map((item) => item.key), ':id': cancellationId },
    });
  }

  moveCancellingOrder(
    orderId: string,
    cancellationId: string,
    from: OrderState,
    to: OrderState,
    at: string,
    options: { endCancellation?: boolean; clearHolds?: boolean } = {},
  ): Promise<boolean> {
    const removes = [
      ...(options.endCancellation ? ['cancellation'] : []),
      ...(options.clearHolds ? ['holds'] : []),
    ];
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: `SET #state = :to, listState = :list, updatedAt = :at${to === 'cancelled' ? ', completedAt = :at' : ''}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: '#state = :from AND cancellation.id = :id',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':to': to,
        ':list': listPartition(to, listShardOf(orderId)),
        ':at': at,
        ':from': from,
        ':id': cancellationId,
      },
    });
  }

  async setOrderState(orderId: string, from: OrderState[], to: OrderState, at: string): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':to': to,
      ':list': listPartition(to, listShardOf(orderId)),
      ':at': at,
    };
    from.forEach((state, i) => {
      values[`:from${i}`] = state;
    });
    return this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: ORDER_SK },
      UpdateExpression: `SET #state = :to, listState = :list, updatedAt = :at${to === 'completed' || to === 'failed' ? ', completedAt = :at' : ''}`,
      ConditionExpression: `#state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: values,
    });
  }

  /**
   * One transition of an item: `facts` (what was sent, what came back) are kept in its log first, then
   * one conditional write changes its state, numbers the transition and appends its entry to the state's
   * recent history. Only when that has grown past RECENT_HISTORY do its older entries go to the log, in
   * one batch, and then off the state (if no transition came between). An entry is on the state or in
   * the log at every moment, so a worker that dies anywhere here loses none.
   */
  private async transition(
    orderId: string,
    key: string,
    entry: HistoryEntry,
    change: {
      sets: string[];
      removes?: string[];
      /** What moves the item: its lifecycle says from which states (and for which attempt, if Running). */
      event: ItemEvent;
      attemptId?: string;
      /** A further condition of this write. */
      also?: string;
      /** For a claim: the time by which another attempt's lease must have run out for it to be taken over. */
      leaseNow?: string;
      /** For a callback's answer: the attempt is the one whose callback URL carries this nonce. */
      nonce?: string;
      /**
       * Made only while the order is in one of these states, checked in the same transaction (a point of
       * no return's claim: see claimItem).
       */
      guardOrder?: readonly OrderState[];
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    },
    facts: ItemLogEntry[] = [],
  ): Promise<boolean> {
    if (facts.length > 0) await this.appendLog(orderId, key, facts);
    const lifecycle = lifecycleCondition(change.event, change.attemptId, change.leaseNow, change.nonce);
    const sets = [
      '#state = :to',
      'updatedAt = :at',
      '#version = if_not_exists(#version, :zero) + :one',
      '#recent = list_append(if_not_exists(#recent, :none), :entry)',
      ...change.sets,
    ];
    // Only a claim holds the item for a worker: every other transition ends the hold.
    const removes = [
      ...(change.removes ?? []),
      ...(change.event === 'start' && change.values?.[':lease'] ? [] : ['leaseUntil', 'leaseList']),
    ];
    const update = {
      TableName: this.tableName,
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ConditionExpression: change.also
        ? `${asTerm(lifecycle.condition)} AND ${change.also}`
        : lifecycle.condition,
      ExpressionAttributeNames: {
        '#state': 'state',
        '#version': 'version',
        '#recent': 'recent',
        ...change.names,
      },
      ExpressionAttributeValues: {
        ':to': entry.state,
        ':at': entry.at,
        ':zero': 0,
        ':one': 1,
        ':none': [],
        ':entry': [entry],
        ...lifecycle.values,
        ...change.values,
      },
    };
    if (change.guardOrder) {
      // A transaction returns nothing of the item as it was: its recent history goes to the log with
      // the next transition that sees it grown past the limit (historyDueForLog).
      return this.transactIfOrderIn(orderId, change.guardOrder, update);
    }
    let before: Record<string, unknown> | undefined;
    try {
      const result = await this.db.send(new UpdateCommand({ ...update, ReturnValues: 'ALL_OLD' }));
      before = result.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    const version = (typeof before?.version === 'number' ? before.version : 0) + 1;
    const recent = [...((before?.recent as HistoryEntry[] | undefined) ?? []), entry];
    const due = historyDueForLog(recent);
    if (due > 0) await this.logHistory(orderId, key, recent, version, due);
    return true;
  }

  /**
   * Moves the oldest `count` entries of an item's recent history (as it was at `version`) to its log,
   * then off its state, unless a transition came between (its writer sees them and moves them itself).
   */
  private async logHistory(
    orderId: string,
    key: string,
    recent: HistoryEntry[],
    version: number,
    count: number,
  ): Promise<void> {
    await this.appendLog(orderId, key, recentTransitions(recent, version, count));
    // The state's list is known whole at `version`: what stays of it is set, if the version is the same.
    await this.conditionalUpdate({
      Key: { pk: orderPk(orderId), sk: itemSk(key) },
      UpdateExpression: 'SET #recent = :kept',
      ConditionExpression: '#version = :version',
      ExpressionAttributeNames: { '#recent': 'recent', '#version': 'version' },
      ExpressionAttributeValues: { ':version': version, ':kept': recent.slice(count) },
    });
  }

  /** Keeps entries in an item's log; each has a key of its own, so keeping one twice keeps it once. */
  private async appendLog(orderId: string, key: string, entries: ItemLogEntry[]): Promise<void> {
    await putEach(
      this.db,
      this.tableName,
      entries.map((entry) => this.logRecord(orderId, key, entry)),
    );
  }

  private logRecord(orderId: string, key: string, entry: ItemLogEntry): Record<string, unknown> {
    return { pk: orderPk(orderId), sk: logSk(key, entry), orderId, itemKey: key, ...keptEntry(entry) };
  }

  /**
   * An update of one item made only while its order is in one of `states`: one transaction, a condition
   * check on the order record beside the item's conditional write. False when either condition fails.
   */
  private async transactIfOrderIn(
    orderId: string,
    states: readonly OrderState[],
    update: NonNullable<
      NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number]['Update']
    >,
  ): Promise<boolean> {
    const values = Object.fromEntries(states.map((state, i) => [`:orderState${i}`, state]));
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: orderPk(orderId), sk: ORDER_SK },
                ConditionExpression: `#state IN (${Object.keys(values).join(', ')})`,
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: values,
              },
            },
            { Update: update },
          ],
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'TransactionCanceledException') return false;
      if (!noTransactions(error)) throw error;
    }
    // dynalite, the local runtime's emulator without Java, has no transactions: the order's state is
    // read, then the item written. DynamoDB (and DynamoDB Local) never come here.
    const order = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: orderPk(orderId), sk: ORDER_SK },
        ConsistentRead: true,
      }),
    );
    if (!states.includes(order.Item?.state as OrderState)) return false;
    return this.conditionalUpdate(update);
  }

  /** Puts a record that is not there yet; one there already is kept as it is. */
  private async conditionalPut(item: Record<string, unknown>): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async conditionalUpdate(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>) {
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/**
 * The condition of a transition's write, from the lifecycle: the item is in a state the event moves it
 * out of, or Running under the attempt that sends it.
 */
function lifecycleCondition(
  event: ItemEvent,
  attemptId: string | undefined,
  leaseNow?: string,
  nonce?: string,
): { condition: string; values: Record<string, unknown> } {
  const rule = LIFECYCLE[event];
  const values: Record<string, unknown> = {};
  const parts: string[] = [];
  if (rule.from.length > 0) {
    rule.from.forEach((state, i) => {
      values[`:from${i}`] = state;
    });
    parts.push(`#state IN (${rule.from.map((_, i) => `:from${i}`).join(', ')})`);
  }
  if (rule.fromOwnRunning && attemptId !== undefined && nonce !== undefined) {
    // The attempt of a callback URL: the nonce it was issued with (an item claimed before nonces were
    // kept has its attempt's own).
    values[':running'] = 'Running' satisfies ItemState;
    values[':attempt'] = attemptId;
    values[':nonce'] = nonce;
    parts.push(
      '(#state = :running AND (callbackNonce = :nonce OR (attribute_not_exists(callbackNonce) AND attemptId = :attempt)))',
    );
  } else if (rule.fromOwnRunning && attemptId !== undefined) {
    values[':running'] = 'Running' satisfies ItemState;
    values[':attempt'] = attemptId;
    parts.push('(#state = :running AND attemptId = :attempt)');
  }
  if (rule.fromExpiredRunning && leaseNow !== undefined) {
    values[':running'] = 'Running' satisfies ItemState;
    values[':leaseNow'] = leaseNow;
    parts.push('(#state = :running AND leaseUntil < :leaseNow)');
  }
  // An event nothing may send (no attempt given where only the attempt may) matches no item.
  return { condition: parts.length > 0 ? parts.join(' OR ') : 'attribute_not_exists(pk)', values };
}

/**
 * A condition as one term of an AND: in parentheses, unless it is one parenthesized term already, which
 * DynamoDB refuses to see parenthesized again ("redundant parentheses").
 */
function asTerm(condition: string): string {
  let depth = 0;
  for (let i = 0; i < condition.length; i++) {
    if (condition[i] === '(') depth++;
    else if (condition[i] === ')') {
      depth--;
      if (depth === 0 && i < condition.length - 1) return `(${condition})`;
    }
  }
  return condition.startsWith('(') ? condition : `(${condition})`;
}

/** The DynamoDB answering has no TransactWriteItems (dynalite, docs/local-runtime.md). */
export const noTransactions = (error: unknown): boolean =>
  (error as Error).name === 'UnknownOperationException';

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error).name === 'ConditionalCheckFailedException'
  );
}

function historyEntry(at: string, state: ItemState, reason: string): HistoryEntry {
  return { at, state, reason };
}
