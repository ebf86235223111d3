import { Inject, Injectable } from '@nestjs/common';
import { defineActivity, defineWorkflow, setActivityMethodOptions, type ActivityOptions, type AnyClass, type WorkflowOptions } from '../core/index.js';
import { STENT_MODULE_OPTIONS } from './stent.module-definition.js';

/**
 * Marks a class as a workflow: injectable, discovered at bootstrap, with run() as its entry point.
 */
export function Workflow(options: WorkflowOptions = {}): ClassDecorator {
  return (target) => {
    Injectable()(target);
    defineWorkflow(target as unknown as AnyClass, options);
  };
}

/**
 * On a class: every public method is an activity (named 'Class.method'); the class becomes injectable
 * and is discovered at bootstrap. On a method: options for that activity only.
 */
export function Activity(options: ActivityOptions = {}): ClassDecorator & MethodDecorator {
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (key !== undefined) {
      setActivityMethodOptions(target, String(key), options);
      return descriptor;
    }
    Injectable()(target as AnyClass);
    defineActivity(target as AnyClass, options);
    return undefined;
  }) as ClassDecorator & MethodDecorator;
}

/** Injects the options StentModule was configured with. */
export const InjectStentOptions = (): ParameterDecorator & PropertyDecorator => Inject(STENT_MODULE_OPTIONS);
